using MLNetNormalization.Data;
using MLNetNormalization.Tests.DataViews;
using MLNetNormalization.Trainers.Backbones;
using MLNetNormalization.Trainers.ImageClassification;
using MLNetNormalization.TorchBinding.Imaging;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>
/// A folder of synthetic gray PNGs, one folder per class (horizontal stripes, vertical stripes, checkerboard, each
/// with a random phase and noise), and the whole pipeline fitted on it once: load, split, key the label, load,
/// resize and extract the images, train LeNet.
/// </summary>
public sealed class PipelineFixture : IDisposable
{
    public const int Seed = 7;
    public static readonly string[] Classes = ["checker", "horizontal", "vertical"];

    public PipelineFixture()
    {
        Images = WriteImages(Folder.Path, perClass: 20);
        Context = new MLNormContext(Seed);
        var split = Context.Data.TrainTestSplit(Context.Data.LoadImagesFromDirectory(Folder.Path), testFraction: 0.25, seed: Seed,
            stratificationColumnName: "Label");
        Train = split.TrainSet;
        Test = split.TestSet;
        Options = SmallOptions();
        Options.MetricsCallback = _ => Progress++;
        Pipeline = Preparation(Context)
            .Append(Context.MulticlassClassification.Trainers.ImageClassifierWithNorm(Options));
        Model = Pipeline.Fit(Train);
        Classifier = Model.LastTransformer!;
        Scored = Model.Transform(Test);
    }

    public TempFolder Folder { get; } = new();
    public IReadOnlyList<string> Images { get; }
    public MLNormContext Context { get; }
    public IDataView Train { get; }
    public IDataView Test { get; }
    public ImageClassifierWithNormOptions Options { get; }
    public int Progress { get; private set; }
    public EstimatorChain<ImageClassificationTransformer> Pipeline { get; }
    public TransformerChain<ImageClassificationTransformer> Model { get; }
    public ImageClassificationTransformer Classifier { get; }
    public IDataView Scored { get; }

    /// <summary>Label to keys, then path to a 16x16 gray image to standardized pixels in "Features".</summary>
    public static EstimatorChain<PixelExtractingTransformer> Preparation(MLNormContext context, bool skipUnreadable = false) =>
        context.Transforms.Conversion.MapValueToKey("Label")
            .Append(context.Transforms.LoadImages("Image", null, "ImagePath", ImageColorMode.Grayscale, skipUnreadable))
            .Append(context.Transforms.ResizeImages("Image", 16, 16))
            .Append(context.Transforms.ExtractPixels("Features", "Image", mean: [0.5], std: [0.25]));

    /// <summary>LeNet, a few quick epochs, no augmentation (the patterns are not flip-invariant).</summary>
    public static ImageClassifierWithNormOptions SmallOptions() => new()
    {
        Architecture = Architecture.LeNet, Epochs = 12, BatchSize = 15, LearningRate = 0.05, CropPadding = 0, HorizontalFlip = false,
        Device = ComputeDevice.Cpu,
    };

    /// <summary>Writes <paramref name="perClass"/> 20x20 PNGs into a folder per class; returns their paths.</summary>
    public static IReadOnlyList<string> WriteImages(string root, int perClass)
    {
        var random = new Random(Seed);
        var paths = new List<string>();
        foreach (var name in Classes)
        {
            Directory.CreateDirectory(Path.Combine(root, name));
            for (var i = 0; i < perClass; i++)
            {
                var phase = random.Next(4);
                var pixels = new byte[20 * 20];
                for (var y = 0; y < 20; y++)
                for (var x = 0; x < 20; x++)
                {
                    var on = name switch
                    {
                        "horizontal" => (y + phase) / 2 % 2 == 0,
                        "vertical" => (x + phase) / 2 % 2 == 0,
                        _ => ((x + phase) / 4 + (y + phase) / 4) % 2 == 0,
                    };
                    pixels[y * 20 + x] = (byte)Math.Clamp((on ? 200 : 50) + random.Next(-30, 31), 0, 255);
                }
                var path = Path.Combine(root, name, $"{i:D2}.png");
                using var image = Tensor.FromArray(pixels, 1, 20, 20);
                ImageCodec.SaveFile(path, image);
                paths.Add(path);
            }
        }
        return paths;
    }

    public void Dispose()
    {
        Classifier.Dispose();
        Folder.Dispose();
    }
}
