// Trains an image classifier (LeNet by default) on Fashion-MNIST with a chosen normalizer through ML.NET: an MLContext,
// the images as data views, the pipeline MapValueToKey -> ImageClassifierWithNorm -> MapKeyToValue, Fit with progress,
// the fitted pipeline saved as a model zip, then ML.NET's Evaluate on the test set. With --workspace, kill it and run
// the same command again: it resumes from its last checkpoint.
// Usage: dotnet run -c Release --project samples/FashionMnistTraining -- [--norm mn:k=2] [options]
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML.Transforms;
using MLNetNormalization;
using MLNetNormalization.Samples.FashionMnistTraining;
using TorchSharp;

var options = SampleOptions.Parse(args, out var exitCode);
if (options is null) return exitCode;
if (options.Threads > 0) torch.set_num_threads(options.Threads);
Console.WriteLine($"TorchSharp (libtorch {torch.__version__}), {torch.get_num_threads()} threads; loading Fashion-MNIST from {options.DataDirectory}");

var ml = new MLContext(options.Seed);
// The trainer's own messages in ML.NET's log: what it trains, and where it resumed. Its progress lines are left out:
// the callback below prints progress in the sample's format.
ml.Log += (_, e) =>
{
    if (e.Kind == ChannelMessageKind.Info && e.Source.StartsWith("ImageClassifierWithNorm", StringComparison.Ordinal)
        && !e.RawMessage.StartsWith("epoch ", StringComparison.Ordinal))
        Console.WriteLine(e.RawMessage);
};

IDataView train, test;
try
{
    (train, test) = FashionMnistJob.Load(ml, options.DataDirectory, options.TrainImages);
}
catch (FileNotFoundException e)
{
    Console.Error.WriteLine($"--data-dir: {e.Message}");
    return 2;
}
Console.WriteLine($"{CountRows(train)} training and {CountRows(test)} test images" +
                  (options.ValidationFraction > 0 ? Invariant($", {options.ValidationFraction:P0} of the training images held out for validation") : ""));

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl+C stops training at the next step and writes a checkpoint, rather than dying mid-write; a second ends the process.
    e.Cancel = !cancel.IsCancellationRequested;
    cancel.Cancel();
};
var lastEpochEnd = TimeSpan.Zero;
var pipeline = FashionMnistJob.Pipeline(ml, options.ClassifierOptions(Print, cancel.Token));
TransformerChain<KeyToValueMappingTransformer> model;
try
{
    model = pipeline.Fit(train);
}
catch (OperationCanceledException)
{
    Console.WriteLine(options.WorkspacePath is null ? "cancelled." : $"cancelled; run the same command again to resume from {options.WorkspacePath}.");
    return 1;
}
catch (ArgumentException e)
{
    // The trainer checks its options when Fit starts, before it reads the images.
    Console.Error.WriteLine(SampleOptions.Explain(e));
    return 2;
}
catch (InvalidOperationException e)
{
    // A workspace holding another run's checkpoint, or training that diverged: the message says what to change.
    Console.Error.WriteLine(e.Message);
    return 1;
}
// The classifier holds native tensors; dispose it when the sample ends rather than leave it to the finalizer.
using var classifier = model.OfType<ImageClassificationTransformer>().Single();

FashionMnistJob.Save(ml, model, train.Schema, options.ModelPath);
Console.WriteLine($"saved the fitted pipeline to {options.ModelPath} ({new FileInfo(options.ModelPath).Length:N0} bytes); ml.Model.Load reads it");

var scored = model.Transform(test);
var metrics = ml.MulticlassClassification.Evaluate(scored);
Console.WriteLine(Invariant($"test: MicroAccuracy {metrics.MicroAccuracy:P2}, MacroAccuracy {metrics.MacroAccuracy:P2}, LogLoss {metrics.LogLoss:F4}"));
if (options.Alphas.Count > 0)
{
    // The scored view still holds Features and the key Label, which is what TuneInferenceAlpha scores each alpha's copy of the classifier on.
    foreach (var (alpha, alphaMetrics) in ml.MulticlassClassification.TuneInferenceAlpha(classifier, scored, options.Alphas))
        Console.WriteLine(Invariant($"test at inference alpha {alpha}: MicroAccuracy {alphaMetrics.MicroAccuracy:P2}, MacroAccuracy {alphaMetrics.MacroAccuracy:P2}, LogLoss {alphaMetrics.LogLoss:F4}"));
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

// A view taken with TakeRows does not know its row count; the IDX views do.
static long CountRows(IDataView data)
{
    if (data.GetRowCount() is { } count) return count;
    using var cursor = data.GetRowCursor([]);
    var rows = 0L;
    while (cursor.MoveNext()) rows++;
    return rows;
}

static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
