using MLNetNormalization.TorchBinding.Imaging;

namespace MLNetNormalization.Tests.Imaging;

/// <summary>Resizing against C# references with half-pixel centres, block means, and invariants.</summary>
public class ImageResizeTests
{
    public static TheoryData<ImageInterpolation> Interpolations =>
        [ImageInterpolation.Nearest, ImageInterpolation.Bilinear, ImageInterpolation.Area];

    [Theory]
    [MemberData(nameof(Interpolations))]
    public void TheSameSizeGivesTheSameImage(ImageInterpolation interpolation)
    {
        using var scope = Torch.NewDisposeScope();
        var pixels = TestPixels.Random(10, 3, 5, 7);
        var resized = ImageCodec.Resize(TestPixels.Image(pixels, 3, 5, 7), 5, 7, interpolation);
        Assert.Equal(pixels, TestPixels.Of(resized, 3, 5, 7));
    }

    [Theory]
    [MemberData(nameof(Interpolations))]
    public void AConstantImageStaysConstant(ImageInterpolation interpolation)
    {
        using var scope = Torch.NewDisposeScope();
        byte[] values = [200, 17, 90];
        const int height = 9, width = 20;
        var image = TestPixels.Image(values.SelectMany(v => Enumerable.Repeat(v, height * width)).ToArray(), 3, height, width);
        foreach (var (outHeight, outWidth) in new[] { (4, 7), (13, 31), (9, 3), (1, 1) })
        {
            var resized = TestPixels.Of(ImageCodec.Resize(image, outHeight, outWidth, interpolation), 3, outHeight, outWidth);
            Assert.Equal(values.SelectMany(v => Enumerable.Repeat(v, outHeight * outWidth)), resized);
        }
    }

    [Fact]
    public void AreaHalvingGivesTheMeansOfTwoByTwoBlocks()
    {
        using var scope = Torch.NewDisposeScope();
        const int channels = 3, height = 8, width = 6;
        var pixels = TestPixels.Random(11, channels, height, width);
        var resized = TestPixels.Of(
            ImageCodec.Resize(TestPixels.Image(pixels, channels, height, width), height / 2, width / 2, ImageInterpolation.Area),
            channels, height / 2, width / 2);
        for (var c = 0; c < channels; c++)
        for (var y = 0; y < height / 2; y++)
        for (var x = 0; x < width / 2; x++)
        {
            double Pixel(int dy, int dx) => pixels[(c * height + 2 * y + dy) * width + 2 * x + dx];
            var mean = (Pixel(0, 0) + Pixel(0, 1) + Pixel(1, 0) + Pixel(1, 1)) / 4;
            var actual = resized[(c * height / 2 + y) * (width / 2) + x];
            Assert.True(Math.Abs(actual - mean) <= 0.5, $"channel {c} ({y}, {x}): {actual}, block mean {mean}");
        }
    }

    [Theory]
    [InlineData(5, 7, 8, 3)]    // taller and narrower
    [InlineData(9, 4, 4, 12)]   // shorter and wider, no ties
    [InlineData(4, 4, 2, 11)]   // ties in both directions: each output centre on an edge, or the middle one
    public void NearestPicksThePixelWhoseCentreIsNearest(int height, int width, int outHeight, int outWidth)
    {
        using var scope = Torch.NewDisposeScope();
        var pixels = TestPixels.Random(12, 3, height, width);
        var resized = TestPixels.Of(
            ImageCodec.Resize(TestPixels.Image(pixels, 3, height, width), outHeight, outWidth, ImageInterpolation.Nearest),
            3, outHeight, outWidth);
        for (var c = 0; c < 3; c++)
        for (var y = 0; y < outHeight; y++)
        for (var x = 0; x < outWidth; x++)
        {
            var expected = pixels[(c * height + NearestSource(y, height, outHeight)) * width + NearestSource(x, width, outWidth)];
            Assert.Equal(expected, resized[(c * outHeight + y) * outWidth + x]);
        }
    }

    /// <summary>
    /// The input index whose centre (i + 0.5) is nearest the output centre mapped back, (o + 0.5)·in/out,
    /// in exact integer arithmetic; a mapped centre exactly on the edge between two pixels (a tie) takes
    /// the lower one, as ImageInterpolation.Nearest documents.
    /// </summary>
    private static int NearestSource(int output, int inSize, int outSize)
    {
        var twiceMapped = (2 * output + 1) * inSize;   // 2·outSize times the mapped centre
        var index = twiceMapped / (2 * outSize);
        if (twiceMapped % (2 * outSize) == 0) index--;
        return Math.Min(index, inSize - 1);
    }

    [Theory]
    [InlineData(5, 6, 9, 13)]   // enlarging
    [InlineData(9, 7, 6, 4)]    // shrinking by less than 2x, where bilinear sees every input pixel
    [InlineData(4, 4, 7, 3)]    // both at once
    public void BilinearMatchesAHalfPixelCentreReference(int height, int width, int outHeight, int outWidth)
    {
        using var scope = Torch.NewDisposeScope();
        var pixels = TestPixels.Random(13, 3, height, width);
        var resized = TestPixels.Of(
            ImageCodec.Resize(TestPixels.Image(pixels, 3, height, width), outHeight, outWidth, ImageInterpolation.Bilinear),
            3, outHeight, outWidth);
        for (var c = 0; c < 3; c++)
        for (var y = 0; y < outHeight; y++)
        for (var x = 0; x < outWidth; x++)
        {
            var (y0, y1, wy) = BilinearSource(y, height, outHeight);
            var (x0, x1, wx) = BilinearSource(x, width, outWidth);
            double Pixel(int sy, int sx) => pixels[(c * height + sy) * width + sx];
            var top = Pixel(y0, x0) * (1 - wx) + Pixel(y0, x1) * wx;
            var bottom = Pixel(y1, x0) * (1 - wx) + Pixel(y1, x1) * wx;
            var expected = top * (1 - wy) + bottom * wy;
            var actual = resized[(c * outHeight + y) * outWidth + x];
            Assert.True(Math.Abs(actual - expected) <= 1, $"channel {c} ({y}, {x}): {actual}, reference {expected:F3}");
        }
    }

    /// <summary>The two input indices around an output pixel's mapped centre and the weight of the second, clamped at the borders.</summary>
    private static (int Low, int High, double Weight) BilinearSource(int output, int inSize, int outSize)
    {
        var position = Math.Max(0, (output + 0.5) * inSize / outSize - 0.5);
        var low = Math.Min((int)Math.Floor(position), inSize - 1);
        var high = Math.Min(low + 1, inSize - 1);
        return (low, high, position - low);
    }
}
