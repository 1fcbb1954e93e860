// Trains a small CNN on Fashion-MNIST with a chosen normalizer (batch normalization by default),
// showing progress, then prints the test accuracy.
// Usage: dotnet run -c Release --project samples/FashionMnistTraining -- [--norm mn:k=2] [options]
using System.Diagnostics;
using System.Globalization;
using MLNetNormalization.Normalization;
using MLNetNormalization.Trainers.Data;
using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.NN;
using MLNetNormalization.TorchBinding.Optim;

var options = SampleOptions.Parse(args);
if (options is null) return 2;

Torch.ManualSeed(options.Seed);
if (options.Threads > 0) Torch.Threads = options.Threads;
Console.WriteLine($"libtorch {Torch.Version}, {Torch.Threads} threads; loading Fashion-MNIST from {options.DataDirectory}");

var train = FashionMnist.LoadTrain(options.DataDirectory);
var test = FashionMnist.LoadTest(options.DataDirectory);
var (trainImages, trainLabels) = train.ToTensors(FashionMnist.PixelMean, FashionMnist.PixelStd);
var (testImages, testLabels) = test.ToTensors(FashionMnist.PixelMean, FashionMnist.PixelStd);
Console.WriteLine($"{train.Count} training and {test.Count} test images of {train.Height}x{train.Width}");

var norm = NormalizerFactory.Create(options.Normalizer);
var model = new Sequential(
    new Conv2d(1, 32, 3, padding: 1, bias: false), norm(32), new ReLU(), new MaxPool2d(2),
    new Conv2d(32, 64, 3, padding: 1, bias: false), norm(64), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Linear(64 * 7 * 7, 128), new ReLU(), new Linear(128, 10));
Console.WriteLine($"model: conv-{options.Normalizer}-ReLU-pool x2, fc128, fc10; {model.Parameters().Sum(p => p.ElementCount):N0} parameters");

var stepsPerEpoch = (train.Count + options.BatchSize - 1) / options.BatchSize;
var totalSteps = stepsPerEpoch * options.Epochs;
using var optimizer = new SGD(model.Parameters(), options.LearningRate, momentum: 0.9, weightDecay: 5e-4, nesterov: true);
var scheduler = new LearningRateScheduler(optimizer, new WarmupSchedule(stepsPerEpoch / 10, new CosineSchedule(totalSteps - stepsPerEpoch / 10)));
using var shuffle = new Generator(options.Seed);

var clock = Stopwatch.StartNew();
var stepsDone = 0;
for (var epoch = 1; epoch <= options.Epochs; epoch++)
{
    model.Train();
    using var order = Torch.RandPerm(train.Count, shuffle);
    double lossSum = 0;
    long correct = 0, seen = 0;
    for (var step = 0; step < stepsPerEpoch; step++)
    {
        using (var scope = Torch.NewDisposeScope())
        {
            var start = step * options.BatchSize;
            var indices = order.Narrow(0, start, Math.Min(options.BatchSize, train.Count - start));
            var images = trainImages.IndexSelect(0, indices);
            var labels = trainLabels.IndexSelect(0, indices);

            optimizer.ZeroGrad();
            var logits = model.Forward(images);
            var loss = Functional.CrossEntropy(logits, labels);
            loss.Backward();
            optimizer.Step();
            scheduler.Step();

            var batch = labels.Shape[0];
            lossSum += loss.Item<float>() * batch;
            correct += logits.ArgMax(1).Eq(labels).Sum().Item<long>();
            seen += batch;
        }
        stepsDone++;
        if (step % options.ReportEvery == 0 || step == stepsPerEpoch - 1)
        {
            var elapsed = clock.Elapsed.TotalSeconds;
            var eta = TimeSpan.FromSeconds(elapsed / stepsDone * (totalSteps - stepsDone));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {epoch}/{options.Epochs}  step {step + 1,4}/{stepsPerEpoch}  loss {lossSum / seen:F4}  " +
                $"train acc {100.0 * correct / seen:F2}%  {stepsDone * (double)options.BatchSize / elapsed:F0} img/s  ETA {eta:mm\\:ss}"));
        }
    }
}

var (accuracy, perClass) = Evaluate(model, testImages, testLabels, FashionMnist.ClassNames.Count);
Console.WriteLine($"training took {clock.Elapsed:mm\\:ss}");
for (var c = 0; c < perClass.Length; c++)
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {FashionMnist.ClassNames[c],-12} {100 * perClass[c]:F1}%"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test accuracy: {100 * accuracy:F2}% ({test.Count} images)"));
return 0;

static (double Accuracy, double[] PerClass) Evaluate(Module model, Tensor images, Tensor labels, int classes)
{
    model.Eval();
    using var noGrad = Torch.NoGrad();
    var count = images.Shape[0];
    var hits = new long[classes];
    var totals = new long[classes];
    for (long start = 0; start < count; start += 1000)
    {
        using var scope = Torch.NewDisposeScope();
        var length = Math.Min(1000, count - start);
        var predicted = model.Forward(images.Narrow(0, start, length)).ArgMax(1).ToArray<long>();
        var actual = labels.Narrow(0, start, length).ToArray<long>();
        for (var i = 0; i < actual.Length; i++)
        {
            totals[actual[i]]++;
            if (predicted[i] == actual[i]) hits[actual[i]]++;
        }
    }
    return (hits.Sum() / (double)count, hits.Zip(totals, (h, t) => t == 0 ? 0 : h / (double)t).ToArray());
}

internal sealed record SampleOptions(string Normalizer, int Epochs, int BatchSize, double LearningRate, int Threads, ulong Seed, string DataDirectory, int ReportEvery)
{
    private static readonly string Usage = $"""
        Trains a CNN with a chosen normalizer on Fashion-MNIST and prints the test accuracy.
        Options:
          --norm SPEC         normalizer after each conv (default bn); one of:
                              {NormalizerFactory.ValidForms}
          --epochs N          training epochs (default 1)
          --batch-size N      examples per step (default 64)
          --learning-rate X   peak SGD learning rate, warm-up then cosine decay (default 0.05)
          --threads N         libtorch intra-op threads (default: one per core)
          --seed N            seed of initialization and shuffling (default 0)
          --data-dir PATH     folder of the Fashion-MNIST .gz files (default /usr/share/datasets/fashion-mnist)
          --report-every N    print progress every N steps (default 100)
        """;

    public static SampleOptions? Parse(string[] args)
    {
        var options = new SampleOptions("bn", 1, 64, 0.05, 0, 0, FashionMnist.DefaultDirectory, 100);
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            try
            {
                options = args[i] switch
                {
                    "--norm" => options with { Normalizer = Checked(Value()) },
                    "--epochs" => options with { Epochs = Positive(Value(), "--epochs") },
                    "--batch-size" => options with { BatchSize = Positive(Value(), "--batch-size") },
                    "--learning-rate" => options with { LearningRate = double.Parse(Value(), CultureInfo.InvariantCulture) },
                    "--threads" => options with { Threads = Positive(Value(), "--threads") },
                    "--seed" => options with { Seed = ulong.Parse(Value(), CultureInfo.InvariantCulture) },
                    "--data-dir" => options with { DataDirectory = Value() },
                    "--report-every" => options with { ReportEvery = Positive(Value(), "--report-every") },
                    "--help" or "-h" => null,
                    _ => throw new ArgumentException($"Unknown option {args[i]}."),
                };
            }
            catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
            {
                Console.Error.WriteLine($"{e.Message}\n\n{Usage}");
                return null;
            }
            if (options is null)
            {
                Console.WriteLine(Usage);
                return null;
            }
        }
        return options;
    }

    // Resolving the factory once rejects a bad normalizer string before any data is loaded.
    private static string Checked(string normalizer)
    {
        NormalizerFactory.Create(normalizer);
        return normalizer;
    }

    private static int Positive(string text, string name)
    {
        var value = int.Parse(text, CultureInfo.InvariantCulture);
        return value > 0 ? value : throw new ArgumentException($"{name} must be positive, got {value}.");
    }
}
