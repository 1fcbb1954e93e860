using MLNetNormalization;
using MLNetNormalization.Data;
using SkiaSharp;

namespace MLNetNormalization.Tests.MLNetData;

/// <summary>ImageFolder.Save: the files it writes, decoded back by SkiaSharp; what it refuses; what it leaves behind.</summary>
public class ImageFolderSaveTests
{
    // A slash and a backslash, which cannot be in a folder name on Linux and Windows respectively.
    private static readonly string[] Classes = ["T-shirt/top", "Bag", @"Ankle\boot"];

    [Fact]
    public void EachImageBecomesAGrayPngNamedByItsIndexInItsClassFolder()
    {
        using var scratch = new ScratchFolder();
        var images = MLNetDataSupport.Images(12, Classes, height: 5, width: 7);
        var target = scratch["images"];

        Assert.Equal(12, ImageFolder.Save(target, images));

        // The class folders, and nothing else beside the target: the temporary folder was renamed.
        Assert.Equal([target], Directory.GetFileSystemEntries(scratch.Path));
        Assert.Equal(["Ankle_boot", "Bag", "T-shirt_top"], Directory.GetDirectories(target).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        for (var i = 0; i < images.Count; i++)
        {
            // Indices are padded to the width of the largest, 11, so that file order is index order.
            var path = Path.Combine(target, Classes[images.GetLabel(i)].Replace('/', '_').Replace('\\', '_'), $"{i:D2}.png");
            using var decoded = SKBitmap.Decode(path);
            Assert.Equal(SKColorType.Gray8, decoded.ColorType);
            Assert.Equal((7, 5), (decoded.Width, decoded.Height));
            Assert.Equal(images.Pixels.AsSpan(i * 35, 35).ToArray(), decoded.Bytes);
        }
        Assert.Equal(12, Directory.GetFiles(target, "*", SearchOption.AllDirectories).Length);
    }

    [Fact]
    public void AFolderGivenWithATrailingSeparatorIsWrittenAndLoadsBack()
    {
        using var scratch = new ScratchFolder();
        var images = MLNetDataSupport.Images(6, Classes, height: 5, width: 7);
        var target = scratch["images"];

        Assert.Equal(6, ImageFolder.Save(target + Path.DirectorySeparatorChar, images));

        Assert.Equal([target], Directory.GetFileSystemEntries(scratch.Path));
        Assert.Equal(6, Directory.GetFiles(target, "*.png", SearchOption.AllDirectories).Length);
    }

    [Fact]
    public void PerClassWritesTheFirstImagesOfEachClass()
    {
        using var scratch = new ScratchFolder();
        byte[] labels = [0, 0, 0, 1, 0, 1, 1, 2, 2, 2];
        var images = new ImageDataset(new byte[labels.Length * 4], labels, 2, 2, Classes);

        Assert.Equal(6, ImageFolder.Save(scratch["images"], images, perClass: 2));

        // Class 0's third image (2) and fourth (4), class 1's third (6) and class 2's third (9) are left out.
        var written = Directory.GetFiles(scratch["images"], "*.png", SearchOption.AllDirectories).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.Equal(["0.png", "1.png", "3.png", "5.png", "7.png", "8.png"], written);
    }

    [Fact]
    public void AskingForMoreImagesThanAClassHasFailsAndLeavesNothing()
    {
        using var scratch = new ScratchFolder();
        var images = MLNetDataSupport.Images(7, Classes, height: 2, width: 2);

        var error = Assert.Throws<ArgumentException>(() => ImageFolder.Save(scratch["images"], images, perClass: 3));

        Assert.Contains("perClass 3: the dataset has only 2 images of class 1 ('Bag'); ask for at most that many.", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(scratch.Path));
    }

    [Fact]
    public void AFailureMidwayLeavesNoFolder()
    {
        using var scratch = new ScratchFolder();
        var images = MLNetDataSupport.Images(6, Classes, height: 2, width: 2);
        // A label spoilt after the dataset checked it stops the writing at image 4, after four files were written.
        images.Labels[4] = 200;

        Assert.Throws<IndexOutOfRangeException>(() => ImageFolder.Save(scratch["images"], images));

        Assert.Empty(Directory.GetFileSystemEntries(scratch.Path));
    }

    [Fact]
    public void AnExistingFolderIsNotOverwritten()
    {
        using var scratch = new ScratchFolder();
        Directory.CreateDirectory(scratch["images"]);

        var error = Assert.Throws<IOException>(() => ImageFolder.Save(scratch["images"], MLNetDataSupport.Images(3, Classes)));

        Assert.Contains($"{scratch["images"]} already exists; delete it to write the images again, or pass another folder.", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(scratch["images"]));
    }

    [Fact]
    public void ClassNamesThatWouldShareAFolderAreRefused()
    {
        using var scratch = new ScratchFolder();
        var images = MLNetDataSupport.Images(3, ["a/b", "a_b", "c"]);

        var error = Assert.Throws<ArgumentException>(() => ImageFolder.Save(scratch["images"], images));

        Assert.Contains("Classes 0 ('a/b') and 1 ('a_b') would both be written to the folder 'a_b'", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(scratch.Path));
    }

    [Fact]
    public void ColorImagesAreRefused()
    {
        using var scratch = new ScratchFolder();
        var images = new ImageDataset(new byte[2 * 3 * 4 * 4], [0, 1], new ImageShape(3, 4, 4), ["a", "b"]);

        var error = Assert.Throws<ArgumentException>(() => ImageFolder.Save(scratch["images"], images));

        Assert.Contains("ImageFolder.Save writes grayscale PNG files, from one-channel images; these are 3x4x4", error.Message);
    }
}
