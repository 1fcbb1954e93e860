using System.Text;
using MLNetNormalization.Tests.Binding;
using MLNetNormalization.TorchBinding.Imaging;

namespace MLNetNormalization.Tests.Imaging;

/// <summary>Bad files and bad tensors give errors that name the file or the problem, never a crash.</summary>
public class ImageErrorTests
{
    [Fact]
    public void AMissingFileIsNamed()
    {
        using var directory = new TempDirectory();
        var path = directory.File("absent.png");
        var error = Assert.Throws<FileNotFoundException>(() => ImageCodec.DecodeFile(path, ImageColorMode.Color));
        Assert.Contains(path, error.Message);
        Assert.Contains("does not exist", error.Message);
    }

    [Fact]
    public void AFolderIsNamedAsNotAFile()
    {
        using var directory = new TempDirectory();
        var error = Assert.Throws<FileNotFoundException>(() => ImageCodec.DecodeFile(directory.Path, ImageColorMode.Color));
        Assert.Contains(directory.Path, error.Message);
        Assert.Contains("is a folder", error.Message);
    }

    public static TheoryData<string, byte[]> DamagedFiles
    {
        get
        {
            var png = ImageFileWriters.Png(TestPixels.Random(30, 1, 16, 16), 16, 16, ImageFileWriters.PngGray);
            using var image = TestPixels.Image(TestPixels.Random(32, 3, 24, 24), 3, 24, 24);
            var jpeg = ImageCodec.Encode(image, ImageFileFormat.Jpeg);
            var random = new byte[500];
            new Random(31).NextBytes(random);
            return new()
            {
                { "empty.png", [] },
                { "truncated.png", png[..(png.Length / 2)] },
                { "truncated.jpg", jpeg[..(jpeg.Length * 9 / 10)] },   // libjpeg alone would fill the rest gray
                { "cut-at-the-end.jpg", jpeg[..^2] },                  // no end-of-image marker
                { "random.jpg", random },
                { "notes.png", Encoding.UTF8.GetBytes("These are notes, not a picture.\n") },
                { "signature-only.png", png[..8] },
            };
        }
    }

    [Theory]
    [MemberData(nameof(DamagedFiles))]
    public void ADamagedOrForeignFileIsNamed(string name, byte[] content)
    {
        using var directory = new TempDirectory();
        var path = directory.File(name);
        File.WriteAllBytes(path, content);
        var error = Assert.Throws<InvalidDataException>(() => ImageCodec.DecodeFile(path, ImageColorMode.Color));
        Assert.Contains(path, error.Message);
        Assert.Contains(content.Length == 0 ? "is empty" : "is not a PNG, JPEG or BMP image, or it is damaged", error.Message);
    }

    [Fact]
    public void UndecodableBytesInMemoryNameTheirSource()
    {
        var error = Assert.Throws<InvalidDataException>(() => ImageCodec.Decode("GIF89a"u8, ImageColorMode.Grayscale, "https://example.org/a.gif"));
        Assert.Contains("https://example.org/a.gif is not a PNG, JPEG or BMP image", error.Message);
        Assert.Contains("OpenCV could not decode the data", Assert.IsType<TorchException>(error.InnerException).Message);
        var empty = Assert.Throws<InvalidDataException>(() => ImageCodec.Decode([], ImageColorMode.Color));
        Assert.Contains("the image data is empty (0 bytes)", empty.Message);
    }

    public static TheoryData<long[], ScalarType, string> BadImages => new()
    {
        { [3, 4, 4], ScalarType.Float32, "expected a UInt8 image tensor, but got Float32" },
        { [4, 4], ScalarType.UInt8, "expected a 3D [C, H, W] image tensor, but got input of size: [4, 4]" },
        { [1, 3, 4, 4], ScalarType.UInt8, "expected a 3D [C, H, W] image tensor, but got input of size: [1, 3, 4, 4]" },
        { [2, 4, 4], ScalarType.UInt8, "expected 1 (gray) or 3 (RGB) channels in dimension 0, but got input of size: [2, 4, 4]" },
        { [4, 4, 4], ScalarType.UInt8, "expected 1 (gray) or 3 (RGB) channels in dimension 0, but got input of size: [4, 4, 4]" },
        { [4, 4, 3], ScalarType.UInt8, "expected 1 (gray) or 3 (RGB) channels in dimension 0, but got input of size: [4, 4, 3]" },
        { [3, 0, 4], ScalarType.UInt8, "the image has no pixels (size [3, 0, 4])" },
    };

    [Theory]
    [MemberData(nameof(BadImages))]
    public void EncodeAndResizeRejectTensorsThatAreNotImages(long[] shape, ScalarType type, string message)
    {
        using var scope = Torch.NewDisposeScope();
        var tensor = Torch.Zeros(shape, type);
        var encode = Assert.Throws<ArgumentException>(() => ImageCodec.Encode(tensor, ImageFileFormat.Png));
        Assert.Contains($"Encode: {message}", encode.Message);
        var resize = Assert.Throws<ArgumentException>(() => ImageCodec.Resize(tensor, 2, 2));
        Assert.Contains($"Resize: {message}", resize.Message);
    }

    [Fact]
    public void TheShimRejectsBadImagesItself()
    {
        // The C# checks run first; these reach the shim's own checks, which guard every other caller.
        using var scope = Torch.NewDisposeScope();
        using var floats = Torch.Zeros([3, 4, 4]);
        using var image = Torch.Zeros([1, 4, 4], ScalarType.UInt8);
        var resize = Assert.Throws<TorchException>(() => new Tensor(Native.mln_image_resize(floats.Handle, 2, 2, 1)));
        Assert.Contains("resize: expected a uint8 image tensor, but got Float", resize.Message);
        var size = Assert.Throws<TorchException>(() => new Tensor(Native.mln_image_resize(image.Handle, 0, 2, 1)));
        Assert.Contains("resize: the size must be positive, but got 0 x 2", size.Message);
        var interpolation = Assert.Throws<TorchException>(() => new Tensor(Native.mln_image_resize(image.Handle, 2, 2, 9)));
        Assert.Contains("unknown interpolation code 9", interpolation.Message);
        var format = Assert.Throws<TorchException>(() => new Tensor(Native.mln_image_encode(image.Handle, 7, 95)));
        Assert.Contains("unknown image format code 7", format.Message);
        var quality = Assert.Throws<TorchException>(() => new Tensor(Native.mln_image_encode(image.Handle, 1, 0)));
        Assert.Contains("the JPEG quality must be in 1..100, but got 0", quality.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void ResizeRejectsNonPositiveSizes(int size)
    {
        using var scope = Torch.NewDisposeScope();
        var image = Torch.Zeros([1, 4, 4], ScalarType.UInt8);
        Assert.Equal("height", Assert.Throws<ArgumentOutOfRangeException>(() => ImageCodec.Resize(image, size, 2)).ParamName);
        Assert.Equal("width", Assert.Throws<ArgumentOutOfRangeException>(() => ImageCodec.Resize(image, 2, size)).ParamName);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    public void EncodeRejectsAJpegQualityOutside1To100(int quality)
    {
        using var scope = Torch.NewDisposeScope();
        var image = Torch.Zeros([1, 4, 4], ScalarType.UInt8);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ImageCodec.Encode(image, ImageFileFormat.Jpeg, quality));
        Assert.Contains("The JPEG quality must be in 1..100", error.Message);
    }

    [Theory]
    [InlineData("picture.gif", "'.gif'")]
    [InlineData("picture", "''")]
    [InlineData("picture.png.tmp", "'.tmp'")]
    public void SavingUnderAnUnknownExtensionNamesTheFileAndTheChoices(string name, string extension)
    {
        using var directory = new TempDirectory();
        using var scope = Torch.NewDisposeScope();
        var path = directory.File(name);
        var error = Assert.Throws<ArgumentException>(() => ImageCodec.SaveFile(path, Torch.Zeros([3, 2, 2], ScalarType.UInt8)));
        Assert.Contains(path, error.Message);
        Assert.Contains(extension, error.Message);
        Assert.Contains("name the file .png, .jpg, .jpeg or .bmp", error.Message);
        Assert.Empty(Directory.GetFiles(directory.Path));
    }
}
