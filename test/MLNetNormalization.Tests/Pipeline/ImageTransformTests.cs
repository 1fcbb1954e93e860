using MLNetNormalization.Data;
using MLNetNormalization.Tests.DataViews;
using MLNetNormalization.TorchBinding.Imaging;

namespace MLNetNormalization.Tests.Pipeline;

public sealed class PathRow
{
    public string ImagePath { get; set; } = "";
}

public sealed class ImageTransformTests
{
    private readonly MLNormContext _context = new(3);

    // A 3x2x2 RGB image with known samples, written as a (lossless) PNG.
    private static readonly byte[] Samples = [0, 51, 102, 255, /* G */ 10, 20, 30, 40, /* B */ 255, 128, 0, 1];

    private static void WritePng(string path, byte[] samples, int channels, int height, int width)
    {
        using var image = Tensor.FromArray(samples, channels, height, width);
        ImageCodec.SaveFile(path, image);
    }

    [Fact]
    public void ExtractPixels_standardizes_each_channel_with_its_mean_and_std()
    {
        using var folder = new TempFolder();
        WritePng(Path.Combine(folder.Path, "a.png"), Samples, 3, 2, 2);
        double[] mean = [0.5, 0.1, 0.2], std = [0.25, 0.5, 2];
        var data = _context.Data.LoadFromEnumerable([new PathRow { ImagePath = "a.png" }]);
        var pipeline = _context.Transforms.LoadImages("Image", folder.Path, "ImagePath")
            .Append(_context.Transforms.ResizeImages("Image", 2, 2))
            .Append(_context.Transforms.ExtractPixels("Features", "Image", mean, std));
        var output = pipeline.Fit(data).Transform(data);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 3, 2, 2), output.Schema["Features"].Type);
        var features = Assert.Single(DataTestSupport.ReadColumn<float[]>(output, "Features"));
        var expected = Samples.Select((s, i) => (float)((s / 255.0 - mean[i / 4]) / std[i / 4]));
        Assert.Equal(expected, features);
    }

    [Fact]
    public void ResizeImages_gives_the_declared_size_and_keeps_a_uniform_image_uniform()
    {
        using var folder = new TempFolder();
        WritePng(Path.Combine(folder.Path, "u.png"), Enumerable.Repeat((byte)77, 5 * 7).ToArray(), 1, 5, 7);
        var data = _context.Data.LoadFromEnumerable([new PathRow { ImagePath = Path.Combine(folder.Path, "u.png") }]);   // absolute path, no folder
        var output = _context.Transforms.LoadImages("Image", null, "ImagePath", ImageColorMode.Grayscale)
            .Append(_context.Transforms.ResizeImages("Small", 3, 4, "Image")).Fit(data).Transform(data);
        Assert.Equal(new ImageDataViewType(1, 4, 3), output.Schema["Small"].Type);
        Assert.Equal(new ImageDataViewType(1), output.Schema["Image"].Type);
        var image = Assert.Single(DataTestSupport.ReadColumn<ImagePixels>(output, "Small"));
        Assert.Equal((1, 4, 3), (image.Channels, image.Height, image.Width));
        Assert.All(image.Data.ToArray(), s => Assert.Equal(77, s));
    }

    [Fact]
    public void A_corrupt_image_is_an_error_naming_the_file_and_the_fix()
    {
        using var folder = new TempFolder();
        WritePng(Path.Combine(folder.Path, "good.png"), Samples, 3, 2, 2);
        var bad = folder.Write("bad.png", "not a png at all");
        var data = _context.Data.LoadFromEnumerable([new PathRow { ImagePath = "good.png" }, new PathRow { ImagePath = "bad.png" }]);
        var output = _context.Transforms.LoadImages("Image", folder.Path, "ImagePath").Fit(data).Transform(data);
        var error = Assert.Throws<InvalidDataException>(() => DataTestSupport.ReadColumn<ImagePixels>(output, "Image"));
        Assert.Contains(bad, error.Message);
        Assert.Contains("row 2", error.Message);
        Assert.Contains("skipUnreadable", error.Message);
        // Lazy: a cursor that does not read the image column decodes nothing, so it sees no error.
        Assert.Equal(2, DataTestSupport.ReadColumn<string>(output, "ImagePath").Count);
    }

    [Fact]
    public void With_skipUnreadable_unreadable_rows_are_dropped_and_counted_whatever_columns_are_read()
    {
        using var folder = new TempFolder();
        WritePng(Path.Combine(folder.Path, "good.png"), Samples, 3, 2, 2);
        folder.Write("bad.png", "not a png at all");
        var data = _context.Data.LoadFromEnumerable([new PathRow { ImagePath = "good.png" }, new PathRow { ImagePath = "bad.png" },
            new PathRow { ImagePath = "missing.png" }, new PathRow { ImagePath = "good.png" }]);
        var loader = _context.Transforms.LoadImages("Image", folder.Path, "ImagePath", skipUnreadable: true).Fit(data);
        Assert.Equal(0, loader.SkippedCount);
        var output = loader.Transform(data);
        Assert.Equal(["good.png", "good.png"], DataTestSupport.ReadColumn<string>(output, "ImagePath"));
        Assert.Equal(2, loader.SkippedCount);
        Assert.Equal(2, DataTestSupport.ReadColumn<ImagePixels>(output, "Image").Count);
        Assert.Null(output.GetRowCount());
    }

    [Fact]
    public void Image_transforms_refuse_wrong_columns_naming_them()
    {
        var data = _context.Data.LoadFromEnumerable([new PathRow { ImagePath = "x.png" }]);
        Assert.Contains("'Nowhere'", Assert.Throws<ArgumentOutOfRangeException>(() => _context.Transforms.LoadImages("Image", null, "Nowhere").Fit(data)).Message);
        Assert.Contains("'ImagePath'", Assert.Throws<ArgumentOutOfRangeException>(() => _context.Transforms.ResizeImages("Small", 2, 2, "ImagePath").Fit(data)).Message);
        var loaded = _context.Transforms.LoadImages("Image", null, "ImagePath").Fit(data).Transform(data);
        var unsized = Assert.Throws<ArgumentOutOfRangeException>(() => _context.Transforms.ExtractPixels("Features", "Image").Fit(loaded));
        Assert.Contains("'Image'", unsized.Message);
        Assert.Contains("ResizeImages", unsized.Message);
        var resized = _context.Transforms.ResizeImages("Image", 2, 2).Fit(loaded).Transform(loaded);
        Assert.Contains("2 values", Assert.Throws<ArgumentException>(() => _context.Transforms.ExtractPixels("Features", "Image", mean: [0, 0]).Fit(resized)).Message);
    }
}
