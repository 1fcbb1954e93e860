// A network of your own, trained by ImageClassifierWithNorm with mode normalization through an ML.NET pipeline, saved,
// and loaded again in another process: the app registers its backbone factory by name before Fit and before Load.
//
//   dotnet run -c Release --project samples/OwnBackbone -- train --model se-resnet.zip
//   dotnet run -c Release --project samples/OwnBackbone -- score --model se-resnet.zip
//
// Options: --train-images N (the first N of Fashion-MNIST's 60,000, default 6000), --epochs N (default 2),
// --data-dir PATH (default /usr/share/datasets/fashion-mnist).
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetNormalization;
using MLNetNormalization.Backbones;
using MLNetNormalization.Samples.OwnBackbone;

if (args.Length < 3 || args[0] is not ("train" or "score") || args[1] != "--model")
{
    Console.Error.WriteLine("usage: OwnBackbone train|score --model PATH [--train-images N] [--epochs N] [--data-dir PATH]");
    return 2;
}
var (mode, modelPath) = (args[0], args[2]);
var options = args.Skip(3).Chunk(2).ToDictionary(pair => pair[0], pair => pair.Length > 1 ? pair[1] : "");
var trainImages = int.Parse(options.GetValueOrDefault("--train-images", "6000"), CultureInfo.InvariantCulture);
var epochs = int.Parse(options.GetValueOrDefault("--epochs", "2"), CultureInfo.InvariantCulture);
var dataDirectory = options.GetValueOrDefault("--data-dir", "/usr/share/datasets/fashion-mnist");

// Before Fit, and before ml.Model.Load in any process that loads a model trained on it.
BackboneRegistry.Register(SeResNet.Name, SeResNet.Create);

var ml = new MLContext(seed: 1);
var test = FashionMnistData.LoadTest(ml, dataDirectory, FashionMnistData.StandardizingOffset, FashionMnistData.StandardizingScale);
ITransformer model;
if (mode == "train")
{
    var train = ml.Data.TakeRows(FashionMnistData.LoadTrain(ml, dataDirectory, FashionMnistData.StandardizingOffset, FashionMnistData.StandardizingScale), trainImages);
    var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
        .Append(ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(new ImageClassifierWithNormOptions
        {
            Backbone = SeResNet.Name, NormalizerSpecification = "mn:k=2", Epochs = epochs, BatchSize = 64, LearningRate = 0.05,
            CropPadding = 0, HorizontalFlip = false,
            MetricsCallback = p => { if (p.Phase == TrainingPhase.EpochEnd) Console.WriteLine($"epoch {p.Epoch}/{p.Epochs}: loss {p.Loss:F4}"); },
        }));
    model = pipeline.Fit(train);
    ml.Model.Save(model, train.Schema, modelPath);
    Console.WriteLine($"trained {SeResNet.Name} with mn:k=2 on {trainImages} images; saved {modelPath}");
}
else
{
    model = ml.Model.Load(modelPath, out _);
    Console.WriteLine($"loaded {modelPath}");
}
var scored = model.Transform(test);
var metrics = ml.MulticlassClassification.Evaluate(scored);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test: MicroAccuracy {metrics.MicroAccuracy:P2}, LogLoss {metrics.LogLoss:F6}"));
// The first test images' class probabilities: the same in the process that trained and in one that loaded the model.
foreach (var (scores, i) in scored.GetColumn<float[]>("Score").Take(3).Select((s, i) => (s, i)))
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test image {i + 1}: {string.Join(" ", scores.Select(p => p.ToString("F6", CultureInfo.InvariantCulture)))}"));
return 0;
