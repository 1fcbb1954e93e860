using System.Text;
using MLNetNormalization.TorchBinding.Imaging;
using static MLNetNormalization.Tests.Imaging.ImageFileWriters;

namespace MLNetNormalization.Tests.Imaging;

/// <summary>Decoding files written byte by byte by the tests (ImageFileWriters) gives exactly the pixels written.</summary>
public class ImageDecodeTests
{
    [Fact]
    public void Crc32OfTheTestsPngWriterGivesTheStandardCheckValue()
    {
        // The published check value of CRC-32 (the one PNG uses) for the ASCII digits 1..9.
        Assert.Equal(0xCBF43926u, Crc32(Encoding.ASCII.GetBytes("123456789")));
    }

    [Theory]
    [InlineData(5, 7)]   // 21 bytes a row: padded to 24
    [InlineData(3, 4)]   // 12 bytes a row: no padding
    public void Bmp24DecodesToThePixelsWritten(int height, int width)
    {
        using var scope = Torch.NewDisposeScope();
        var pixels = TestPixels.Random(1, 3, height, width);
        var image = ImageCodec.Decode(Bmp24(pixels, height, width), ImageColorMode.Color);
        Assert.Equal(pixels, TestPixels.Of(image, 3, height, width));
    }

    [Fact]
    public void Bmp8LooksPixelsUpInItsPalette()
    {
        using var scope = Torch.NewDisposeScope();
        const int height = 4, width = 5;
        var indices = TestPixels.Random(2, 1, height, width);

        // A gray palette running backwards: the decoded value is 255 - index, not the index itself.
        var reversedGray = Enumerable.Range(0, 256).Select(i => ((byte)(255 - i), (byte)(255 - i), (byte)(255 - i))).ToArray();
        var gray = ImageCodec.Decode(Bmp8(indices, height, width, reversedGray), ImageColorMode.Grayscale);
        Assert.Equal(indices.Select(i => (byte)(255 - i)), TestPixels.Of(gray, 1, height, width));

        var colorPalette = Enumerable.Range(0, 256).Select(i => ((byte)i, (byte)(i * 7), (byte)(i * 13 + 5))).ToArray();
        var color = TestPixels.Of(ImageCodec.Decode(Bmp8(indices, height, width, colorPalette), ImageColorMode.Color), 3, height, width);
        var expected = new byte[3 * height * width];
        for (var p = 0; p < height * width; p++)
        {
            var (r, g, b) = colorPalette[indices[p]];
            expected[p] = r;
            expected[height * width + p] = g;
            expected[2 * height * width + p] = b;
        }
        Assert.Equal(expected, color);
    }

    [Fact]
    public void GrayAndRgbPngsDecodeToThePixelsWritten()
    {
        using var scope = Torch.NewDisposeScope();
        const int height = 5, width = 7;
        var gray = TestPixels.Random(3, 1, height, width);
        var grayPng = Png(gray, height, width, PngGray);
        Assert.Equal(gray, TestPixels.Of(ImageCodec.Decode(grayPng, ImageColorMode.Grayscale), 1, height, width));
        // A gray file asked for in colour repeats its one channel three times.
        Assert.Equal([.. gray, .. gray, .. gray], TestPixels.Of(ImageCodec.Decode(grayPng, ImageColorMode.Color), 3, height, width));

        var rgb = TestPixels.Random(4, 3, height, width);
        var rgbPng = Png(Interleave(rgb, 3, height, width), height, width, PngRgb);
        Assert.Equal(rgb, TestPixels.Of(ImageCodec.Decode(rgbPng, ImageColorMode.Color), 3, height, width));
    }

    [Fact]
    public void AlphaIsDroppedWithoutBlending()
    {
        using var scope = Torch.NewDisposeScope();
        const int height = 3, width = 6;
        var rgba = TestPixels.Random(5, 4, height, width);
        for (var i = 0; i < width; i++) rgba[3 * height * width + i] = 0;   // a fully transparent first row too
        var png = Png(Interleave(rgba, 4, height, width), height, width, PngRgba);
        var decoded = TestPixels.Of(ImageCodec.Decode(png, ImageColorMode.Color), 3, height, width);
        Assert.Equal(rgba[..(3 * height * width)], decoded);
    }

    [Fact]
    public void SixteenBitPngsKeepTheHighByte()
    {
        using var scope = Torch.NewDisposeScope();
        const int height = 3, width = 4;
        var random = new Random(6);
        var values = Enumerable.Range(0, height * width).Select(_ => (ushort)random.Next(65536)).ToArray();
        values[0] = 0x12FF;   // a low byte that rounding would carry into the high one
        var samples = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++)
        {
            samples[2 * i] = (byte)(values[i] >> 8);   // PNG stores samples big-endian
            samples[2 * i + 1] = (byte)values[i];
        }
        var decoded = ImageCodec.Decode(Png(samples, height, width, PngGray, bitDepth: 16), ImageColorMode.Grayscale);
        Assert.Equal(values.Select(v => (byte)(v >> 8)), TestPixels.Of(decoded, 1, height, width));
    }

    [Fact]
    public void ColorFilesDecodedAsGrayscaleFollowTheLumaFormula()
    {
        using var scope = Torch.NewDisposeScope();
        const int height = 6, width = 9;
        var rgb = TestPixels.Random(7, 3, height, width);
        var files = new[]
        {
            ("PNG", Png(Interleave(rgb, 3, height, width), height, width, PngRgb)),
            ("BMP", Bmp24(rgb, height, width)),
        };
        foreach (var (name, file) in files)
        {
            var gray = TestPixels.Of(ImageCodec.Decode(file, ImageColorMode.Grayscale), 1, height, width);
            for (var p = 0; p < height * width; p++)
            {
                var luma = 0.299 * rgb[p] + 0.587 * rgb[height * width + p] + 0.114 * rgb[2 * height * width + p];
                Assert.True(Math.Abs(gray[p] - luma) <= 1, $"{name} pixel {p}: gray {gray[p]}, luma {luma:F2}");
            }
        }
    }

    [Fact]
    public void JpegExifOrientationIsApplied()
    {
        using var scope = Torch.NewDisposeScope();
        const int height = 16, width = 24;
        var jpeg = ImageCodec.Encode(TestPixels.Image(TestPixels.Smooth(3, height, width), 3, height, width), ImageFileFormat.Jpeg);
        var upright = TestPixels.Of(ImageCodec.Decode(jpeg, ImageColorMode.Color), 3, height, width);

        // The same JPEG with an APP1 EXIF segment after its SOI marker: a big-endian TIFF header and
        // one IFD entry, Orientation (0x0112, SHORT) = 6, "rotate 90° clockwise to display".
        byte[] exif =
        [
            0xFF, 0xE1, 0x00, 0x22,                      // APP1, segment length 34 (with these 2 bytes)
            (byte)'E', (byte)'x', (byte)'i', (byte)'f', 0, 0,
            (byte)'M', (byte)'M', 0x00, 0x2A, 0, 0, 0, 8, // TIFF header, IFD0 at offset 8
            0x00, 0x01,                                  // one entry
            0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1, 0x00, 0x06, 0, 0,
            0, 0, 0, 0,                                  // no next IFD
        ];
        byte[] rotatedJpeg = [.. jpeg[..2], .. exif, .. jpeg[2..]];
        var rotated = TestPixels.Of(ImageCodec.Decode(rotatedJpeg, ImageColorMode.Color), 3, width, height);

        // Turned clockwise: output row r, column k shows input row (height - 1 - k), column r.
        for (var c = 0; c < 3; c++)
        for (var r = 0; r < width; r++)
        for (var k = 0; k < height; k++)
            Assert.Equal(upright[(c * height + (height - 1 - k)) * width + r], rotated[(c * width + r) * height + k]);
    }
}
