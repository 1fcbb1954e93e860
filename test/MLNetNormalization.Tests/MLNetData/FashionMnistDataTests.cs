using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetNormalization.Data;

namespace MLNetNormalization.Tests.MLNetData;

/// <summary>FashionMnistData over files named as in Debian's package, written here.</summary>
public class FashionMnistDataTests
{
    private readonly MLContext ml = new(seed: 1);

    private static void WriteSet(ScratchFolder folder, string prefix, byte[] pixels, byte[] labels)
    {
        MLNetDataSupport.WriteIdx(folder[$"{prefix}-images-idx3-ubyte.gz"], [labels.Length, 28, 28], pixels, gzip: true);
        MLNetDataSupport.WriteIdx(folder[$"{prefix}-labels-idx1-ubyte.gz"], [labels.Length], labels, gzip: true);
    }

    [Fact]
    public void TrainAndTestAreReadFromTheirFilesWithTheClassNames()
    {
        using var folder = new ScratchFolder();
        WriteSet(folder, "train", new byte[2 * 784], [0, 9]);
        WriteSet(folder, "t10k", new byte[3 * 784], [6, 7, 8]);

        Assert.Equal(["T-shirt/top", "Ankle boot"], FashionMnistData.LoadTrain(ml, folder.Path).GetColumn<string>("Label"));
        Assert.Equal(["Shirt", "Sneaker", "Bag"], FashionMnistData.LoadTest(ml, folder.Path).GetColumn<string>("Label"));
    }

    [Fact]
    public void TheStandardizingOffsetAndScaleGiveThePixelsStandardized()
    {
        using var folder = new ScratchFolder();
        var pixels = Enumerable.Range(0, 784).Select(i => (byte)(i % 256)).ToArray();
        WriteSet(folder, "train", pixels, [0]);

        var features = FashionMnistData.LoadTrain(ml, folder.Path, FashionMnistData.StandardizingOffset, FashionMnistData.StandardizingScale)
            .GetColumn<float[]>("Features").Single();

        for (var i = 0; i < pixels.Length; i++)
            Assert.Equal((pixels[i] / 255.0 - FashionMnist.PixelMean) / FashionMnist.PixelStd, features[i], 5);
    }

    [Fact]
    public void MissingFilesSayHowToInstallThem()
    {
        using var folder = new ScratchFolder();

        var error = Assert.Throws<FileNotFoundException>(() => FashionMnistData.LoadTest(ml, folder.Path));

        Assert.Contains($"Fashion-MNIST was not found in {folder.Path} (expected t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz)", error.Message);
        Assert.Contains("Run scripts/setup.sh", error.Message);
    }
}
