using Microsoft.ML;
using MLNetNormalization.Data;

namespace MLNetNormalization;

/// <summary>
/// Fashion-MNIST (Xiao et al. 2017: 28x28 grayscale images of 10 kinds of clothing) as ML.NET data views, read from
/// Debian's dataset-fashion-mnist package (<c>/usr/share/datasets/fashion-mnist</c>, installed by scripts/setup.sh).
/// Each view is <see cref="IdxData.Load"/>'s: <c>Label</c> (text, the class name, "T-shirt/top" to "Ankle boot") and
/// <c>Features</c> (<c>Vector&lt;Single, 1, 28, 28&gt;</c>, <c>(pixel - offsetImage) * scaleImage</c>), in file order,
/// held in memory.
/// </summary>
public static class FashionMnistData
{
    /// <summary>
    /// The <c>offsetImage</c> that, with <see cref="StandardizingScale"/>, standardizes the pixels by the training set's mean
    /// and standard deviation, as ExtractPixels would with the same arguments: mean 0.2860 x 255.
    /// </summary>
    public const float StandardizingOffset = (float)(FashionMnist.PixelMean * 255);

    /// <summary>The <c>scaleImage</c> that goes with <see cref="StandardizingOffset"/>: 1 / (std 0.3530 x 255).</summary>
    public const float StandardizingScale = (float)(1 / (FashionMnist.PixelStd * 255));

    /// <summary>The 60,000 training images.</summary>
    /// <param name="directory">The folder holding <c>train-images-idx3-ubyte.gz</c> and <c>train-labels-idx1-ubyte.gz</c>.</param>
    /// <param name="offsetImage">Subtracted from each pixel value (0 to 255) first; default 0.</param>
    /// <param name="scaleImage">Multiplies the result; default 1.</param>
    /// <exception cref="FileNotFoundException">A file is missing; the message says how to install the package.</exception>
    public static IDataView LoadTrain(MLContext ml, string directory = FashionMnist.DefaultDirectory, float offsetImage = 0, float scaleImage = 1) =>
        Load(ml, directory, FashionMnist.TrainPrefix, offsetImage, scaleImage);

    /// <summary>The 10,000 test images.</summary>
    /// <param name="directory">The folder holding <c>t10k-images-idx3-ubyte.gz</c> and <c>t10k-labels-idx1-ubyte.gz</c>.</param>
    /// <param name="offsetImage">Subtracted from each pixel value (0 to 255) first; default 0.</param>
    /// <param name="scaleImage">Multiplies the result; default 1.</param>
    /// <exception cref="FileNotFoundException">A file is missing; the message says how to install the package.</exception>
    public static IDataView LoadTest(MLContext ml, string directory = FashionMnist.DefaultDirectory, float offsetImage = 0, float scaleImage = 1) =>
        Load(ml, directory, FashionMnist.TestPrefix, offsetImage, scaleImage);

    private static IDataView Load(MLContext ml, string directory, string prefix, float offsetImage, float scaleImage)
    {
        var (imagesPath, labelsPath) = FashionMnist.Files(directory, prefix);
        return IdxData.Load(ml, imagesPath, labelsPath, FashionMnist.ClassNames, offsetImage, scaleImage);
    }
}
