namespace MLNetNormalization.Data;

/// <summary>Fashion-MNIST (Xiao et al. 2017) from Debian's dataset-fashion-mnist package: 60,000 training and 10,000 test images, 28x28 grayscale, 10 classes.</summary>
public static class FashionMnist
{
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Mean and standard deviation of the training pixels scaled to [0, 1].</summary>
    public const double PixelMean = 0.2860, PixelStd = 0.3530;

    /// <summary>The images' shape: one channel of 28 x 28 pixels.</summary>
    public static ImageShape Shape { get; } = new(1, 28, 28);

    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The training set's file prefix, as in <c>train-images-idx3-ubyte.gz</c>.</summary>
    internal const string TrainPrefix = "train";

    /// <summary>The test set's file prefix, as in <c>t10k-images-idx3-ubyte.gz</c>.</summary>
    internal const string TestPrefix = "t10k";

    public static ImageDataset LoadTrain(string directory = DefaultDirectory) => Load(directory, TrainPrefix);

    public static ImageDataset LoadTest(string directory = DefaultDirectory) => Load(directory, TestPrefix);

    /// <summary>The image and label files of one set, checked to exist; the error says how to install them.</summary>
    internal static (string ImagesPath, string LabelsPath) Files(string directory, string prefix)
    {
        var imagesPath = Path.Combine(directory, $"{prefix}-images-idx3-ubyte.gz");
        var labelsPath = Path.Combine(directory, $"{prefix}-labels-idx1-ubyte.gz");
        if (!File.Exists(imagesPath) || !File.Exists(labelsPath))
            throw new FileNotFoundException(
                $"Fashion-MNIST was not found in {directory} (expected {Path.GetFileName(imagesPath)} and {Path.GetFileName(labelsPath)}). " +
                "Run scripts/setup.sh, which installs Debian's dataset-fashion-mnist package.", imagesPath);
        return (imagesPath, labelsPath);
    }

    private static ImageDataset Load(string directory, string prefix)
    {
        var (imagesPath, labelsPath) = Files(directory, prefix);
        var images = IdxFile.Read(imagesPath);
        var labels = IdxFile.Read(labelsPath);
        if (images.Dimensions.Length != 3 || labels.Dimensions.Length != 1 || images.Dimensions[0] != labels.Dimensions[0])
            throw new InvalidDataException(
                $"{imagesPath} [{string.Join(", ", images.Dimensions)}] and {labelsPath} [{string.Join(", ", labels.Dimensions)}] do not describe N images of HxW with N labels.");
        return new ImageDataset(images.Values, labels.Values, images.Dimensions[1], images.Dimensions[2], ClassNames);
    }
}
