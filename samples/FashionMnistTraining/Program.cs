// Trains an image classifier (LeNet by default) on Fashion-MNIST with a chosen normalizer, showing
// progress, then prints its test metrics. Kill it and run the same command again with --workspace:
// it resumes from its last checkpoint.
// Usage: dotnet run -c Release --project samples/FashionMnistTraining -- [--norm mn:k=2] [options]
using System.Globalization;
using MLNetNormalization.Normalization;
using MLNetNormalization.Samples.FashionMnistTraining;
using MLNetNormalization;
using MLNetNormalization.Backbones;
using MLNetNormalization.Data;
using MLNetNormalization.Inference;
using MLNetNormalization.Training;
using TorchSharp;

var options = SampleOptions.Parse(args);
if (options is null) return 2;
if (options.Threads > 0) torch.set_num_threads(options.Threads);
Console.WriteLine($"TorchSharp (libtorch {torch.__version__}), {torch.get_num_threads()} threads; loading Fashion-MNIST from {options.DataDirectory}");

// The model is built before the data loads, so that a normalizer that does not fit it fails at once.
var plan = new NormalizerPlan(options.Normalizer, options.Placement);
torch.manual_seed((long)options.Training.Seed);
torch.nn.Module<torch.Tensor, torch.Tensor> model;
try
{
    model = Backbone.Create(options.Architecture, FashionMnist.Shape, FashionMnist.ClassNames.Count, plan);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(SampleOptions.MessageOf(e));
    return 2;
}
using var modelScope = model;

var train = FashionMnist.LoadTrain(options.DataDirectory);
var test = FashionMnist.LoadTest(options.DataDirectory);
ImageDataset? validation = null;
if (options.ValidationFraction > 0)
{
    var order = Enumerable.Range(0, train.Count).ToArray();
    new Random((int)options.Training.Seed).Shuffle(order);
    var held = (int)Math.Round(train.Count * options.ValidationFraction);
    validation = train.Subset(order[..held]);
    train = train.Subset(order[held..]);
}
Console.WriteLine($"{train.Count} training, {validation?.Count ?? 0} validation and {test.Count} test images of {train.Shape}");

Console.WriteLine($"model: {options.Architecture} with {plan}; {model.parameters().Sum(p => p.numel()):N0} parameters");

var lastEpochEnd = TimeSpan.Zero;
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;   // stop at the next step and write a checkpoint, rather than dying mid-write
    cancel.Cancel();
};
var trainer = new ClassifierTrainer(options.Training);
TrainingResult result;
try
{
    result = trainer.Train(model, train, validation, Print, cancel.Token);
}
catch (OperationCanceledException)
{
    Console.WriteLine(options.Training.WorkspacePath is null
        ? "cancelled."
        : $"cancelled; run the same command again to resume from {options.Training.WorkspacePath}.");
    return 1;
}
if (result.ResumedFrom is not null) Console.WriteLine($"(resumed from {result.ResumedFrom})");
if (result.BestEpoch is not null) Console.WriteLine($"best validation epoch: {result.BestEpoch}{(result.StoppedEarly ? " (stopped early)" : "")}");
if (options.SaveWeights is not null) model.save(options.SaveWeights);

var metrics = trainer.Evaluate(model, test);
Console.WriteLine(Invariant($"test: MicroAccuracy {metrics.MicroAccuracy:P2}, LogLoss {metrics.LogLoss:F4}"));
foreach (var alpha in options.Alphas)
{
    NormalizationModel.SetInferenceAlpha(model, alpha);
    Console.WriteLine(Invariant($"test with alpha {alpha}: MicroAccuracy {trainer.Evaluate(model, test).MicroAccuracy:P2}"));
    NormalizationModel.ResetInferenceAlpha(model);
}
if (options.Fold)
{
    var report = ModelFolding.Fold(model);
    Console.WriteLine(report);
    Console.WriteLine(Invariant($"test folded: MicroAccuracy {trainer.Evaluate(model, test).MicroAccuracy:P2}"));
}
return 0;

void Print(TrainingProgress p)
{
    if (p.Phase == TrainingPhase.Step)
    {
        Console.WriteLine(Invariant(
            $"epoch {p.Epoch}/{p.Epochs}  step {p.Step,4}/{p.StepsPerEpoch}  loss {p.Loss:F4}  train acc {p.Accuracy:P2}  lr {p.LearningRate:G3}  {p.ImagesPerSecond:F0} img/s  ETA {p.EstimatedRemaining:mm\\:ss}"));
        return;
    }
    var validation = p.Validation is { } v ? Invariant($"  validation acc {v.MicroAccuracy:P2}  log loss {v.LogLoss:F4}") : "";
    // Elapsed counts from the start (or resumption) of training; the epoch's time is what passed since the last epoch end.
    var epochTime = p.Elapsed - lastEpochEnd;
    lastEpochEnd = p.Elapsed;
    Console.WriteLine(Invariant($"epoch {p.Epoch}/{p.Epochs} done in {epochTime.TotalSeconds:F1} s (total {p.Elapsed:mm\\:ss}): loss {p.Loss:F4}  train acc {p.Accuracy:P2}{validation}"));
}

static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
