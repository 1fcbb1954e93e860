using System.Globalization;
using MLNetNormalization.Normalization;
using MLNetNormalization.Backbones;
using MLNetNormalization.Data;
using MLNetNormalization.Training;

namespace MLNetNormalization.Samples.FashionMnistTraining;

/// <summary>The sample's command line: a backbone, a normalizer and the training engine's main options.</summary>
internal sealed record SampleOptions
{
    public Architecture Architecture { get; init; } = Architecture.LeNet;
    public string Normalizer { get; init; } = "bn";
    public NormalizerPlacement Placement { get; init; } = NormalizerPlacement.EveryLayer;
    public int Threads { get; init; }
    public string DataDirectory { get; init; } = FashionMnist.DefaultDirectory;
    public double ValidationFraction { get; init; }
    public IReadOnlyList<double> Alphas { get; init; } = [];
    public bool Fold { get; init; }
    public string? SaveWeights { get; init; }

    public TrainingOptions Training { get; init; } = new()
    {
        Epochs = 5, BatchSize = 128, LearningRate = 0.05, Nesterov = true, WeightDecay = 5e-4,
        Schedule = LearningRateScheduleKind.Cosine, WarmupEpochs = 0.2, CropPadding = 0, HorizontalFlip = false,
        PixelMean = [FashionMnist.PixelMean], PixelStd = [FashionMnist.PixelStd], ProgressEverySteps = 100,
    };

    public static readonly string Usage = $"""
        Trains an image classifier with a chosen normalizer on Fashion-MNIST, then prints its test metrics.
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
          --validation-fraction X hold out this fraction of the training images to pick the best epoch (default 0)
          --workspace DIR         write checkpoints there and resume from them
          --checkpoint-every N    also checkpoint every N steps within an epoch
          --alpha A[,A...]        also evaluate with these inference example weights (0..1)
          --fold                  also evaluate with normalizers folded into the convolutions
          --save-weights PATH     write the trained weights to PATH
          --threads N             libtorch intra-op threads (default: one per core)
          --channels-last on|off  convolutions in the channels-last memory layout (default on)
          --seed N                seed of initialization, order, augmentation (default 0)
          --data-dir PATH         folder of the Fashion-MNIST .gz files (default {FashionMnist.DefaultDirectory})
          --report-every N        print progress every N steps (default 100)
        """;

    /// <summary>The options, or null after printing the usage (with the error, if any).</summary>
    public static SampleOptions? Parse(string[] args)
    {
        var options = new SampleOptions();
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                var name = args[i];
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.");
                var training = options.Training;
                options = name switch
                {
                    "--arch" => options with { Architecture = Parse<Architecture>(name, Value()) },
                    "--norm" => options with { Normalizer = Checked(Value()) },
                    "--first-layer-only" => options with { Placement = NormalizerPlacement.FirstLayerOnly },
                    "--epochs" => options with { Training = training with { Epochs = Integer(name, Value()) } },
                    "--batch-size" => options with { Training = training with { BatchSize = Integer(name, Value()) } },
                    "--learning-rate" => options with { Training = training with { LearningRate = Number(name, Value()) } },
                    "--schedule" => options with { Training = training with { Schedule = Parse<LearningRateScheduleKind>(name, Value()) } },
                    "--weight-decay" => options with { Training = training with { WeightDecay = Number(name, Value()) } },
                    "--norm-weight-decay" => options with { Training = training with { NormWeightDecay = Number(name, Value()) } },
                    "--label-smoothing" => options with { Training = training with { LabelSmoothing = Number(name, Value()) } },
                    "--crop-padding" => options with { Training = training with { CropPadding = Integer(name, Value()) } },
                    "--flip" => options with { Training = training with { HorizontalFlip = true } },
                    "--validation-fraction" => options with { ValidationFraction = Fraction(name, Value()) },
                    "--workspace" => options with { Training = training with { WorkspacePath = Value() } },
                    "--checkpoint-every" => options with { Training = training with { CheckpointEverySteps = Integer(name, Value()) } },
                    "--alpha" => options with { Alphas = Value().Split(',').Select(a => Fraction(name, a)).ToArray() },
                    "--fold" => options with { Fold = true },
                    "--save-weights" => options with { SaveWeights = Value() },
                    "--threads" => options with { Threads = Integer(name, Value()) },
                    "--channels-last" => options with { Training = training with { ChannelsLast = Value() switch
                        {
                            "on" => true,
                            "off" => false,
                            var other => throw new ArgumentException($"{name} takes on or off, not {other}."),
                        } } },
                    "--seed" => options with { Training = training with { Seed = ulong.Parse(Value(), CultureInfo.InvariantCulture) } },
                    "--data-dir" => options with { DataDirectory = Value() },
                    "--report-every" => options with { Training = training with { ProgressEverySteps = Integer(name, Value()) } },
                    "--help" or "-h" => null,
                    _ => throw new ArgumentException($"Unknown option {name}."),
                };
                if (options is null)
                {
                    Console.WriteLine(Usage);
                    return null;
                }
            }
            if (options.Threads < 0) throw new ArgumentException($"--threads must be positive, got {options.Threads}.");
            options.Training.Validate();
            return options;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            Console.Error.WriteLine($"{MessageOf(e)}\n\n{Usage}");
            return null;
        }
    }

    /// <summary>An exception's message for a person at a console: without .NET's " (Parameter 'name')" suffix, which names a C# parameter they never saw.</summary>
    public static string MessageOf(Exception error) =>
        error is ArgumentException { ParamName: { } name } ? error.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : error.Message;

    // Resolving the factory rejects a bad normalizer string before any data is loaded.
    private static string Checked(string normalizer)
    {
        NormalizerFactory.Create(normalizer);
        return normalizer;
    }

    private static T Parse<T>(string name, string value) where T : struct, Enum =>
        Enum.TryParse<T>(value, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)
            ? parsed
            : throw new ArgumentException($"{name} takes one of {string.Join(", ", Enum.GetNames<T>())}, got '{value}'.");

    private static int Integer(string name, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : throw new ArgumentException($"{name} needs an integer, got '{value}'.");

    private static double Number(string name, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : throw new ArgumentException($"{name} needs a number, got '{value}'.");

    private static double Fraction(string name, string value)
    {
        var x = Number(name, value);
        return x is >= 0 and <= 1 ? x : throw new ArgumentException($"{name} needs a value in [0, 1], got {value}.");
    }
}
