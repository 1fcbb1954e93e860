// A small successive-halving sweep on the first Fashion-MNIST test images, one line per event on stdout:
//   resumed <index>, started <index>, epoch <index> <epoch>, paused <index>, finished <index> <stopped> <micro-accuracy:R>, best <index> <accuracy:R>
// Usage: SweepProbe <log path>. One libtorch thread, so that runs in different processes sum in the same order.
using System.Globalization;
using MLNetNormalization.Sweeps;
using Microsoft.ML;
using MLNetNormalization;
using MLNetNormalization.Backbones;
using MLNetNormalization.Training;
using TorchSharp;

if (args.Length != 1)
{
    Console.Error.WriteLine("usage: SweepProbe <log path>");
    return 2;
}
torch.set_num_threads(1);
var ml = new MLContext(seed: 1);
var all = FashionMnistData.LoadTest(ml, offsetImage: FashionMnistData.StandardizingOffset, scaleImage: FashionMnistData.StandardizingScale);
var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(all).Transform(all);
var train = ml.Data.TakeRows(keyed, 320);
var validation = ml.Data.TakeRows(ml.Data.SkipRows(keyed, 320), 160);

var experiment = ml.MulticlassClassification.CreateNormalizerSweep(new NormalizerSweepSettings
{
    BaseOptions = new ImageClassifierWithNormOptions { Architecture = Architecture.LeNet, BatchSize = 32, CropPadding = 0, HorizontalFlip = false },
    SearchSpace = new NormalizerSearchSpace { Normalizers = [NormalizerKind.BatchNorm, NormalizerKind.GroupNorm], Groups = [1], LearningRates = [0.1, 1e-5], Epochs = [2] },
    Strategy = SweepStrategy.SuccessiveHalving, MaxTrials = 4, Eta = 2, MinEpochs = 1, InferenceAlphas = [0, 1],
    LogPath = args[0],
});
using var result = experiment.Execute(train, validation, new Lines());
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"best {result.BestTrial.Index} {result.BestTrial.BestAlphaMicroAccuracy:R}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"best-model {SweepProbeCheck.Accuracy(ml, result.BestModel, validation):R}"));
return 0;

internal sealed class Lines : IProgress<NormalizerSweepProgress>
{
    public void Report(NormalizerSweepProgress p)
    {
        var line = p.Kind switch
        {
            NormalizerSweepProgressKind.TrialResumedFromLog => $"resumed {p.TrialIndex}",
            NormalizerSweepProgressKind.TrialStarted => $"started {p.TrialIndex}",
            NormalizerSweepProgressKind.Training when p.Training is { Phase: TrainingPhase.EpochEnd } t => $"epoch {p.TrialIndex} {t.Epoch}",
            NormalizerSweepProgressKind.TrialPaused => $"paused {p.TrialIndex}",
            NormalizerSweepProgressKind.TrialFinished => string.Create(CultureInfo.InvariantCulture, $"finished {p.TrialIndex} {p.Trial!.StoppedEarly} {p.Trial.MicroAccuracy:R}"),
            _ => null,
        };
        if (line is not null) Console.WriteLine(line);
    }
}

internal static class SweepProbeCheck
{
    public static double Accuracy(MLContext ml, ITransformer model, IDataView data) =>
        ml.MulticlassClassification.Evaluate(model.Transform(data)).MicroAccuracy;
}
