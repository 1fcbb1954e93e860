// From a folder of images (one subfolder per class) to a saved model, its evaluation and predictions, with the
// real ML.NET: load the folder, split it, build and fit a pipeline, evaluate, save, load and predict.
// The folder is made from Fashion-MNIST PNGs when it does not exist yet.
// Usage: dotnet run -c Release --project samples/ImageFolderClassification -- [--per-class 300] [--norm mn:k=2] [options]
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Transforms.Image;
using MLNetNormalization;
using MLNetNormalization.Samples.ImageFolderClassification;
using MLNetNormalization.Data;
using MLNetNormalization.Training;

var options = SampleOptions.Parse(args, out var failed);
if (options is null) return failed ? 2 : 0;
var clock = Stopwatch.StartNew();

// 1. The image folder.
if (!Directory.Exists(options.ImagesDirectory))
{
    Console.WriteLine($"{options.ImagesDirectory} does not exist: writing {options.PerClass} Fashion-MNIST training images per class into it as PNGs...");
    var written = ImageFolder.Save(options.ImagesDirectory, FashionMnist.LoadTrain(options.DataDirectory), options.PerClass);
    Console.WriteLine(Invariant($"wrote {written} PNGs in {clock.Elapsed.TotalSeconds:F1} s"));
}
else
{
    Console.WriteLine($"using the images in {options.ImagesDirectory}");
}

var ml = new MLContext(options.Seed);

// 2. One row per image file: ImagePath (relative to the folder), and Label from the name of its class folder.
var images = ImageFolder.Load(ml, options.ImagesDirectory);

// 3. A fifth held out for testing.
var split = ml.Data.TrainTestSplit(images, testFraction: 0.2, seed: options.Seed);
// The split's halves are lazy views that do not know their row counts (GetRowCount is null), so count the rows.
Console.WriteLine($"{CountRows(split.TrainSet)} training and {CountRows(split.TestSet)} test images");

// 4. The pipeline: class names to keys, file to 28x28 image to standardized pixels of its red plane (the images are
// gray, so all three planes are equal), the classifier, and the predicted key back to its class name.
var classifierOptions = new ImageClassifierWithNormOptions
{
    Architecture = Architecture.LeNet,
    NormalizerSpecification = options.Normalizer,
    Epochs = options.Epochs,
    BatchSize = 64,
    LearningRate = 0.05,
    Schedule = LearningRateScheduleKind.Cosine,
    // The images are already centered 28x28 pictures; a mirrored garment is still the same garment.
    CropPadding = 0,
    HorizontalFlip = true,
    MetricsCallback = PrintProgress,
};
// ExtractPixels computes (pixel - offsetImage) * scaleImage: the pixels standardized with Fashion-MNIST's mean and std.
var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
    .Append(ml.Transforms.LoadImages("Image", options.ImagesDirectory, "ImagePath"))
    .Append(ml.Transforms.ResizeImages("Image", 28, 28))
    .Append(ml.Transforms.ExtractPixels("Features", "Image", ImagePixelExtractingEstimator.ColorBits.Red,
        offsetImage: FashionMnistData.StandardizingOffset, scaleImage: FashionMnistData.StandardizingScale))
    .Append(ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(classifierOptions))
    .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabelValue", "PredictedLabel"));

// 5. Training.
Console.WriteLine($"training LeNet with {options.Normalizer} for {options.Epochs} epochs...");
var trainingStart = clock.Elapsed;
var model = pipeline.Fit(split.TrainSet);
// The classifier holds native tensors; dispose it when the sample ends rather than leave it to the finalizer.
using var classifier = model.OfType<ImageClassificationTransformer>().Single();
Console.WriteLine(Invariant($"trained in {(clock.Elapsed - trainingStart).TotalSeconds:F1} s"));

// 6. Evaluation on the test images.
var metrics = ml.MulticlassClassification.Evaluate(model.Transform(split.TestSet));
Console.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());
Console.WriteLine(Invariant($"""
    test metrics:
      MicroAccuracy    {metrics.MicroAccuracy:P2}
      MacroAccuracy    {metrics.MacroAccuracy:P2}
      LogLoss          {metrics.LogLoss:F4}
      LogLossReduction {metrics.LogLossReduction:F4}
    """));

// 7. Inference alpha: how much each example's own statistics count at inference, tried without retraining.
// (Choosing it on the test images is for illustration; a real run would tune it on validation data.)
foreach (var (alpha, alphaMetrics) in ml.MulticlassClassification.TuneInferenceAlpha(classifier, model.Transform(split.TestSet), [0, 0.1, 0.5, 1]))
    Console.WriteLine(Invariant($"inference alpha {alpha,-4}: MicroAccuracy {alphaMetrics.MicroAccuracy:P2}, LogLoss {alphaMetrics.LogLoss:F4}"));

// 8. The model and the schema of the data it takes, in one zip.
ml.Model.Save(model, images.Schema, options.ModelPath);
Console.WriteLine($"saved the model to {options.ModelPath} ({new FileInfo(options.ModelPath).Length:N0} bytes)");

// 9. Loaded back, it predicts test images one at a time (one of each of five classes).
var loaded = ml.Model.Load(options.ModelPath, out _);
var engine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(loaded);
Console.WriteLine("predictions of the loaded model:");
foreach (var input in ml.Data.CreateEnumerable<ImageInput>(split.TestSet, reuseRowObject: false).DistinctBy(i => i.Label).Take(5))
{
    var prediction = engine.Predict(input);
    Console.WriteLine(Invariant(
        $"  {Path.GetFileName(input.ImagePath),-10} actual {input.Label,-12} predicted {prediction.PredictedLabelValue,-12} probability {prediction.Score.Max():P1}"));
}
Console.WriteLine(Invariant($"done in {clock.Elapsed.TotalSeconds:F1} s"));
return 0;

static void PrintProgress(TrainingProgress p)
{
    if (p.Phase == TrainingPhase.Step)
        Console.WriteLine(Invariant(
            $"  epoch {p.Epoch}/{p.Epochs} step {p.Step,3}/{p.StepsPerEpoch}  loss {p.Loss:F4}  train acc {p.Accuracy:P2}  lr {p.LearningRate:G3}  {p.ImagesPerSecond:F0} img/s"));
    else
        Console.WriteLine(Invariant($"  epoch {p.Epoch}/{p.Epochs} done in {p.Elapsed:mm\\:ss}: loss {p.Loss:F4}  train acc {p.Accuracy:P2}"));
}

static long CountRows(IDataView data)
{
    using var cursor = data.GetRowCursor([]);
    var rows = 0L;
    while (cursor.MoveNext()) rows++;
    return rows;
}

static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
