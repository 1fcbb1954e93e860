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

    [Theory]
    [InlineData(2)]
    [InlineData(3)]   // where bilinear would see only each block's middle pixel
    public void AreaShrinkingByAnIntegerGivesTheBlockMeans(int factor)
    {
        using var scope = Torch.NewDisposeScope();
        const int channels = 3, outHeight = 4, outWidth = 3;
        int height = outHeight * factor, width = outWidth * factor;
        var pixels = TestPixels.Random(11, channels, height, width);
        var resized = TestPixels.Of(
            ImageCodec.Resize(TestPixels.Image(pixels, channels, height, width), outHeight, outWidth, ImageInterpolation.Area),
            channels, outHeight, outWidth);
        for (var c = 0; c < channels; c++)
        for (var y = 0; y < outHeight; y++)
        for (var x = 0; x < outWidth; x++)
        {
            double sum = 0;
            for (var dy = 0; dy < factor; dy++)
            for (var dx = 0; dx < factor; dx++)
                sum += pixels[(c * height + factor * y + dy) * width + factor * x + dx];
            var mean = sum / (factor * factor);
            var actual = resized[(c * outHeight + y) * outWidth + x];
            Assert.True(Math.Abs(actual - mean) <= 0.5 + 1e-9, $"channel {c} ({y}, {x}): {actual}, block mean {mean}");
        }
    }

    [Theory]
    [InlineData(9, 7, 4, 3)]   // shrinking by 2.25 and 2.33: blocks with fractional edge pixels
    [InlineData(3, 4, 7, 9)]   // enlarging: blocks, with output pixels on an input edge mixed by their shares
    [InlineData(5, 8, 7, 3)]   // both at once
    public void AreaAveragesTheInputAreaEachOutputPixelCovers(int height, int width, int outHeight, int outWidth)
    {
        using var scope = Torch.NewDisposeScope();
        var pixels = TestPixels.Random(14, 3, height, width);
        var resized = TestPixels.Of(
            ImageCodec.Resize(TestPixels.Image(pixels, 3, height, width), outHeight, outWidth, ImageInterpolation.Area),
            3, outHeight, outWidth);
        var rows = CoverageWeights(height, outHeight);
        var columns = CoverageWeights(width, outWidth);
        for (var c = 0; c < 3; c++)
        for (var y = 0; y < outHeight; y++)
        for (var x = 0; x < outWidth; x++)
        {
            double expected = 0;
            for (var sy = 0; sy < height; sy++)
            for (var sx = 0; sx < width; sx++)
                expected += rows[y, sy] * columns[x, sx] * pixels[(c * height + sy) * width + sx];
            var actual = resized[(c * outHeight + y) * outWidth + x];
            Assert.True(Math.Abs(actual - expected) <= 1, $"channel {c} ({y}, {x}): {actual}, area mean {expected:F3}");
        }
    }

    /// <summary>
    /// weights[o, i]: the share of output pixel o, spanning [o, o + 1)·in/out in input coordinates, that
    /// input pixel [i, i + 1) covers. Each row sums to 1.
    /// </summary>
    private static double[,] CoverageWeights(int inSize, int outSize)
    {
        var weights = new double[outSize, inSize];
        var span = (double)inSize / outSize;
        for (var o = 0; o < outSize; o++)
        for (var i = 0; i < inSize; i++)
            weights[o, i] = Math.Max(0, Math.Min(i + 1, (o + 1) * span) - Math.Max(i, o * span)) / span;
        return weights;
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
