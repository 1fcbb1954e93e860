using System.Globalization;
using MLNetNormalization.Normalization;
using MLNetNormalization.Data;

namespace MLNetNormalization.Samples.ImageFolderClassification;

/// <summary>The sample's command line.</summary>
internal sealed record SampleOptions
{
    public string ImagesDirectory { get; init; } = "data/fashion-mnist-png";
    public int PerClass { get; init; } = 300;
    public string DataDirectory { get; init; } = FashionMnist.DefaultDirectory;
    public string Normalizer { get; init; } = "mn:k=2";
    public int Epochs { get; init; } = 3;
    public string ModelPath { get; init; } = "ImageFolderModel.zip";
    public int Seed { get; init; } = 1;

    public static readonly string Usage = $"""
        Trains an image classifier from a folder of images (one subfolder per class), evaluates it on a held-out
        fifth of the images, saves it, loads it back and predicts a few images with it.
        Options:
          --images-dir DIR   the image folder (default data/fashion-mnist-png); when it does not exist it is made
                             from Fashion-MNIST training images, one PNG folder per class
          --per-class N      images per class written when making the folder (default 300; 1..6000)
          --data-dir PATH    folder of the Fashion-MNIST .gz files to make it from (default {FashionMnist.DefaultDirectory})
          --norm SPEC        normalizer (default mn:k=2); one of:
                             {NormalizerFactory.ValidForms}
          --epochs N         training epochs (default 3)
          --model PATH       where to save the model (default ImageFolderModel.zip)
          --seed N           seed of the split, initialization and data order (default 1)
          --help             this text
        """;

    /// <summary>The options, or null after printing the usage (with the error, if any); <paramref name="failed"/> tells which.</summary>
    public static SampleOptions? Parse(string[] args, out bool failed)
    {
        failed = false;
        var options = new SampleOptions();
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                var name = args[i];
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.");
                options = name switch
                {
                    "--images-dir" => options with { ImagesDirectory = NonEmpty(name, Value()) },
                    "--per-class" => options with { PerClass = Integer(name, Value(), 1, 6000) },
                    "--data-dir" => options with { DataDirectory = NonEmpty(name, Value()) },
                    "--norm" => options with { Normalizer = Checked(Value()) },
                    "--epochs" => options with { Epochs = Integer(name, Value(), 1, 1000) },
                    "--model" => options with { ModelPath = NonEmpty(name, Value()) },
                    "--seed" => options with { Seed = Integer(name, Value(), 0, int.MaxValue) },
                    "--help" or "-h" => null,
                    _ => throw new ArgumentException($"Unknown option {name}; --help lists the options."),
                };
                if (options is null)
                {
                    Console.WriteLine(Usage);
                    return null;
                }
            }
            return options;
        }
        catch (ArgumentException e)
        {
            failed = true;
            Console.Error.WriteLine($"{e.Message}\n\n{Usage}");
            return null;
        }
    }

    // Resolving the factory rejects a bad normalizer string before any image is written or read.
    private static string Checked(string normalizer)
    {
        NormalizerFactory.Create(normalizer);
        return normalizer;
    }

    private static string NonEmpty(string name, string value) =>
        value.Length > 0 ? value : throw new ArgumentException($"{name} needs a non-empty path.");

    private static int Integer(string name, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
            ? n >= min && n <= max ? n : throw new ArgumentException($"{name} must be in {min}..{max}, got {n}.")
            : throw new ArgumentException($"{name} needs an integer, got '{value}'.");
}
