using System.Globalization;
using MLNetNormalization.Normalization;

namespace MLNetNormalization.Samples.FashionMnistTraining;

/// <summary>
/// The sample's command line, and the <see cref="ImageClassifierWithNormOptions"/> it comes to. bench/MainJobBench compiles
/// this file in, so that it trains with the options the sample trains with.
/// </summary>
internal sealed record SampleOptions
{
    // Where Debian's dataset-fashion-mnist package puts the files (FashionMnistData's default folder).
    private const string DefaultDataDirectory = "/usr/share/datasets/fashion-mnist";

    public Architecture Architecture { get; init; } = Architecture.LeNet;
    public string Normalizer { get; init; } = "bn";
    public NormalizerPlacement Placement { get; init; } = NormalizerPlacement.EveryLayer;
    public int Epochs { get; init; } = 5;
    public int BatchSize { get; init; } = 128;
    public double LearningRate { get; init; } = 0.05;
    public LearningRateScheduleKind Schedule { get; init; } = LearningRateScheduleKind.Cosine;
    public double WeightDecay { get; init; } = 5e-4;
    public double NormWeightDecay { get; init; }
    public double LabelSmoothing { get; init; }
    public int CropPadding { get; init; }
    public bool HorizontalFlip { get; init; }
    public double ValidationFraction { get; init; }
    public string? WorkspacePath { get; init; }
    public string ModelPath { get; init; } = "FashionMnistModel.zip";
    public IReadOnlyList<double> Alphas { get; init; } = [];
    public int? TrainImages { get; init; }
    public int Threads { get; init; }
    public int Seed { get; init; }
    public string DataDirectory { get; init; } = DefaultDataDirectory;

    public static readonly string Usage = $"""
        Trains an image classifier on Fashion-MNIST through ML.NET (MapValueToKey, ImageClassifierWithNorm,
        MapKeyToValue), prints its progress and ML.NET's test metrics, and saves the fitted pipeline as a model zip.
        Options:
          --arch NAME             backbone: {string.Join(", ", Enum.GetNames<Architecture>())} (default LeNet)
          --norm SPEC             normalizer (default bn); one of:
                                  {NormalizerFactory.ValidForms}
          --first-layer-only      the normalizer only in the first layer, bn in the others (MN's "init" variant)
          --epochs N              training epochs (default 5)
          --batch-size N          examples per step (default 128)
          --learning-rate X       peak SGD learning rate (default 0.05)
          --schedule NAME         {string.Join(", ", Enum.GetNames<LearningRateScheduleKind>())} (default Cosine, after 0.2 epochs of warm-up)
          --weight-decay X        of conv and linear weights (default 5e-4)
          --norm-weight-decay X   of gamma and beta (default 0)
          --label-smoothing X     (default 0)
          --crop-padding N        random crop after padding by N pixels (default 0)
          --flip                  random horizontal flips (default off)
          --validation-fraction X hold out this fraction of the training images; the model keeps the best epoch's weights (default 0)
          --workspace DIR         write checkpoints there (every epoch, and on Ctrl+C); the same command again resumes from them
          --model PATH            where to save the fitted pipeline, a zip that ml.Model.Load reads (default FashionMnistModel.zip)
          --alpha A[,A...]        also evaluate with these inference alphas (0..1; ML.NET's TuneInferenceAlpha on the test set)
          --train-images N        train on the first N training images only (default all 60,000), for a quick check
          --threads N             libtorch intra-op threads (default: one per core)
          --seed N                the MLContext's and the trainer's seed: initialization, order, augmentation (default 0)
          --data-dir PATH         folder of the Fashion-MNIST .gz files (default {DefaultDataDirectory})
        """;

    /// <summary>
    /// The options, or null with the exit code: 0 after printing the usage (--help), 2 after one line on stderr naming
    /// the option at fault and its fix.
    /// </summary>
    public static SampleOptions? Parse(string[] args, out int exitCode)
    {
        exitCode = 0;
        var options = new SampleOptions();
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                var name = args[i];
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value; --help lists the options.");
                options = name switch
                {
                    "--arch" => options with { Architecture = Parse<Architecture>(name, Value()) },
                    "--norm" => options with { Normalizer = Value() },
                    "--first-layer-only" => options with { Placement = NormalizerPlacement.FirstLayerOnly },
                    "--epochs" => options with { Epochs = Integer(name, Value()) },
                    "--batch-size" => options with { BatchSize = Integer(name, Value()) },
                    "--learning-rate" => options with { LearningRate = Number(name, Value()) },
                    "--schedule" => options with { Schedule = Parse<LearningRateScheduleKind>(name, Value()) },
                    "--weight-decay" => options with { WeightDecay = Number(name, Value()) },
                    "--norm-weight-decay" => options with { NormWeightDecay = Number(name, Value()) },
                    "--label-smoothing" => options with { LabelSmoothing = Number(name, Value()) },
                    "--crop-padding" => options with { CropPadding = Integer(name, Value()) },
                    "--flip" => options with { HorizontalFlip = true },
                    "--validation-fraction" => options with { ValidationFraction = Number(name, Value()) },
                    "--workspace" => options with { WorkspacePath = NonEmpty(name, Value()) },
                    "--model" => options with { ModelPath = NonEmpty(name, Value()) },
                    "--alpha" => options with { Alphas = Value().Split(',').Select(a => Fraction(name, a)).ToArray() },
                    "--train-images" => options with { TrainImages = Positive(name, Value()) },
                    "--threads" => options with { Threads = Positive(name, Value()) },
                    "--seed" => options with { Seed = NonNegative(name, Value()) },
                    "--data-dir" => options with { DataDirectory = NonEmpty(name, Value()) },
                    "--help" or "-h" => null,
                    _ => throw new ArgumentException($"Unknown option {name}; --help lists the options."),
                };
                if (options is null)
                {
                    Console.WriteLine(Usage);
                    return null;
                }
            }
            // Checked now rather than when the model is saved, after all of the training.
            var modelFolder = Path.GetDirectoryName(Path.GetFullPath(options.ModelPath))!;
            if (!Directory.Exists(modelFolder))
                throw new ArgumentException($"--model: the folder {modelFolder} does not exist; create it, or save the model elsewhere.");
            return options;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            exitCode = 2;
            return null;
        }
    }

    /// <summary>
    /// The trainer's options. The trainer checks them when Fit starts, before it reads the images: see <see cref="Explain"/>
    /// for its errors. Nesterov momentum, checkpoints within an epoch and the progress interval are the engine's, not
    /// ImageClassifierWithNorm's, so the sample has none of them (progress comes every 50 steps).
    /// </summary>
    public ImageClassifierWithNormOptions ClassifierOptions(Action<TrainingProgress> progress, CancellationToken cancellation) => new()
    {
        Architecture = Architecture,
        NormalizerSpecification = Normalizer,
        NormalizerPlacement = Placement,
        Epochs = Epochs,
        BatchSize = BatchSize,
        LearningRate = LearningRate,
        Schedule = Schedule,
        WarmupEpochs = 0.2,
        WeightDecay = WeightDecay,
        NormWeightDecay = NormWeightDecay,
        LabelSmoothing = LabelSmoothing,
        CropPadding = CropPadding,
        HorizontalFlip = HorizontalFlip,
        ValidationFraction = ValidationFraction,
        WorkspacePath = WorkspacePath,
        // The MLContext has the seed too, but a trainer draws its own from the context: given here, --seed is the
        // trainer's seed itself, as the engine's (bench/MainJobBench trains both with it).
        Seed = Seed,
        MetricsCallback = progress,
        CancellationToken = cancellation,
    };

    /// <summary>
    /// An error of the trainer's option checks as one line naming the command-line option it came from (the trainer names
    /// its own option, as ParamName and as the message's "ImageClassifierWithNormOptions.Name: " prefix).
    /// </summary>
    public static string Explain(ArgumentException error)
    {
        var message = error.ParamName is { } parameter ? error.Message.Replace($" (Parameter '{parameter}')", "", StringComparison.Ordinal) : error.Message;
        var option = error.ParamName switch
        {
            nameof(ImageClassifierWithNormOptions.Architecture) => "--arch",
            nameof(ImageClassifierWithNormOptions.NormalizerSpecification) => "--norm",
            nameof(ImageClassifierWithNormOptions.NormalizerPlacement) => "--first-layer-only",
            nameof(ImageClassifierWithNormOptions.Epochs) => "--epochs",
            nameof(ImageClassifierWithNormOptions.BatchSize) => "--batch-size",
            nameof(ImageClassifierWithNormOptions.LearningRate) => "--learning-rate",
            nameof(ImageClassifierWithNormOptions.Schedule) => "--schedule",
            nameof(ImageClassifierWithNormOptions.WeightDecay) => "--weight-decay",
            nameof(ImageClassifierWithNormOptions.NormWeightDecay) => "--norm-weight-decay",
            nameof(ImageClassifierWithNormOptions.LabelSmoothing) => "--label-smoothing",
            nameof(ImageClassifierWithNormOptions.CropPadding) => "--crop-padding",
            nameof(ImageClassifierWithNormOptions.ValidationFraction) => "--validation-fraction",
            nameof(ImageClassifierWithNormOptions.WorkspacePath) => "--workspace",
            _ => null,
        };
        if (option is null) return message;
        var prefix = $"{nameof(ImageClassifierWithNormOptions)}.{error.ParamName}: ";
        return $"{option}: {(message.StartsWith(prefix, StringComparison.Ordinal) ? message[prefix.Length..] : message)}";
    }

    private static T Parse<T>(string name, string value) where T : struct, Enum =>
        Enum.TryParse<T>(value, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)
            ? parsed
            : throw new ArgumentException($"{name} takes one of {string.Join(", ", Enum.GetNames<T>())}, got '{value}'.");

    private static int Integer(string name, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : throw new ArgumentException($"{name} needs an integer, got '{value}'.");

    private static int Positive(string name, string value)
    {
        var n = Integer(name, value);
        return n >= 1 ? n : throw new ArgumentException($"{name} needs an integer >= 1, got {n}.");
    }

    private static int NonNegative(string name, string value)
    {
        var n = Integer(name, value);
        return n >= 0 ? n : throw new ArgumentException($"{name} needs an integer >= 0, got {n}.");
    }

    private static double Number(string name, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : throw new ArgumentException($"{name} needs a number, got '{value}'.");

    private static double Fraction(string name, string value)
    {
        var x = Number(name, value);
        return x is >= 0 and <= 1 ? x : throw new ArgumentException($"{name} needs values in [0, 1], got {value}.");
    }

    private static string NonEmpty(string name, string value) =>
        value.Length > 0 ? value : throw new ArgumentException($"{name} needs a non-empty path.");
}
