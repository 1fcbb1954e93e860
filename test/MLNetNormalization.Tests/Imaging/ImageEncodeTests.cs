using MLNetNormalization.Tests.Binding;
using MLNetNormalization.TorchBinding.Imaging;

namespace MLNetNormalization.Tests.Imaging;

/// <summary>Encoding, and files saved and read back: exact for PNG and BMP, close for JPEG.</summary>
public class ImageEncodeTests
{
    public static TheoryData<ImageFileFormat, int, int, int> LosslessCases => new()
    {
        { ImageFileFormat.Png, 1, 5, 7 },
        { ImageFileFormat.Png, 3, 5, 7 },
        { ImageFileFormat.Png, 3, 1, 1 },
        { ImageFileFormat.Bmp, 1, 5, 7 },   // 7-byte gray rows and 21-byte colour rows: both padded
        { ImageFileFormat.Bmp, 3, 5, 7 },
        { ImageFileFormat.Bmp, 3, 7, 5 },
    };

    [Theory]
    [MemberData(nameof(LosslessCases))]
    public void LosslessFormatsRoundTripExactly(ImageFileFormat format, int channels, int height, int width)
    {
        using var scope = Torch.NewDisposeScope();
        var pixels = TestPixels.Random(20 + channels, channels, height, width);
        var bytes = ImageCodec.Encode(TestPixels.Image(pixels, channels, height, width), format);
        var mode = channels == 1 ? ImageColorMode.Grayscale : ImageColorMode.Color;
        Assert.Equal(pixels, TestPixels.Of(ImageCodec.Decode(bytes, mode), channels, height, width));
    }

    [Fact]
    public void EncodedBytesStartWithTheFormatsSignature()
    {
        using var scope = Torch.NewDisposeScope();
        var image = TestPixels.Image(TestPixels.Random(21, 3, 4, 4), 3, 4, 4);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], ImageCodec.Encode(image, ImageFileFormat.Png)[..8]);
        Assert.Equal([0xFF, 0xD8, 0xFF], ImageCodec.Encode(image, ImageFileFormat.Jpeg)[..3]);
        Assert.Equal("BM"u8.ToArray(), ImageCodec.Encode(image, ImageFileFormat.Bmp)[..2]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void JpegRoundTripsCloselyAndBetterAtHigherQuality(int channels)
    {
        using var scope = Torch.NewDisposeScope();
        const int height = 37, width = 45;
        var pixels = TestPixels.Smooth(channels, height, width);
        var image = TestPixels.Image(pixels, channels, height, width);
        var mode = channels == 1 ? ImageColorMode.Grayscale : ImageColorMode.Color;

        double MeanAbsoluteError(int quality)
        {
            var decoded = TestPixels.Of(ImageCodec.Decode(ImageCodec.Encode(image, ImageFileFormat.Jpeg, quality), mode), channels, height, width);
            return pixels.Zip(decoded, (a, b) => Math.Abs(a - b)).Average();
        }

        var best = MeanAbsoluteError(95);
        var worst = MeanAbsoluteError(10);
        Assert.True(best <= 1.5, $"quality 95: mean absolute error {best:F3}");
        Assert.True(worst > best, $"quality 10 ({worst:F3}) should lose more than quality 95 ({best:F3})");
    }

    [Theory]
    [InlineData("picture.png", ImageFileFormat.Png)]
    [InlineData("PICTURE.PNG", ImageFileFormat.Png)]
    [InlineData("picture.bmp", ImageFileFormat.Bmp)]
    [InlineData("picture.jpg", ImageFileFormat.Jpeg)]
    [InlineData("picture.Jpeg", ImageFileFormat.Jpeg)]
    public void SavedFilesHaveTheFormatTheirExtensionNames(string name, ImageFileFormat format)
    {
        using var directory = new TempDirectory();
        using var scope = Torch.NewDisposeScope();
        const int height = 6, width = 5;
        var pixels = TestPixels.Smooth(3, height, width);
        var image = TestPixels.Image(pixels, 3, height, width);
        var path = directory.File(name);
        ImageCodec.SaveFile(path, image);

        Assert.Equal(format, ImageCodec.FormatOf(path));
        Assert.Equal(ImageCodec.Encode(image, format), File.ReadAllBytes(path));
        var decoded = TestPixels.Of(ImageCodec.DecodeFile(path, ImageColorMode.Color), 3, height, width);
        if (format != ImageFileFormat.Jpeg) Assert.Equal(pixels, decoded);
    }

    [Fact]
    public void SavingReplacesAnOldFileAndLeavesNoTemporaryFile()
    {
        using var directory = new TempDirectory();
        using var scope = Torch.NewDisposeScope();
        var path = directory.File("image.png");
        ImageCodec.SaveFile(path, TestPixels.Image(TestPixels.Random(22, 3, 4, 4), 3, 4, 4));
        var second = TestPixels.Random(23, 1, 2, 3);
        ImageCodec.SaveFile(path, TestPixels.Image(second, 1, 2, 3));

        Assert.Equal(["image.png"], Directory.GetFiles(directory.Path).Select(Path.GetFileName));
        Assert.Equal(second, TestPixels.Of(ImageCodec.DecodeFile(path, ImageColorMode.Grayscale), 1, 2, 3));
    }

    [Fact]
    public void NonContiguousImagesAreEncodedAsTheirElementsRead()
    {
        using var scope = Torch.NewDisposeScope();
        // [3, 4, 2] seen through a transpose as [3, 2, 4]: the tensor's logical order, not its memory's.
        var stored = TestPixels.Random(24, 3, 4, 2);
        var view = TestPixels.Image(stored, 3, 4, 2).Transpose(1, 2);
        Assert.False(view.IsContiguous);
        var decoded = ImageCodec.Decode(ImageCodec.Encode(view, ImageFileFormat.Png), ImageColorMode.Color);
        Assert.Equal(view.Contiguous().ToArray<byte>(), TestPixels.Of(decoded, 3, 2, 4));
    }
}
