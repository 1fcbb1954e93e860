using System.Buffers.Binary;
using System.IO.Compression;

namespace MLNetNormalization.Tests.Imaging;

/// <summary>
/// Image files written byte by byte from their specifications, independent of OpenCV: the oracles of
/// the decoding tests. Pixels are given as [C, H, W] planes (R, G, B for colour), rows top to bottom.
/// </summary>
internal static class ImageFileWriters
{
    /// <summary>A 24-bit BMP: BITMAPFILEHEADER + BITMAPINFOHEADER, rows bottom-up in B, G, R order, each padded to 4 bytes.</summary>
    public static byte[] Bmp24(byte[] rgbPlanes, int height, int width)
    {
        var stride = (width * 3 + 3) / 4 * 4;
        var pixels = new byte[stride * height];
        for (var y = 0; y < height; y++)
        {
            var row = (height - 1 - y) * stride;   // bottom-up: the file's first row is the image's last
            for (var x = 0; x < width; x++)
            for (var c = 0; c < 3; c++)
                pixels[row + x * 3 + (2 - c)] = rgbPlanes[(c * height + y) * width + x];
        }
        return Bmp(24, [], pixels, height, width);
    }

    /// <summary>An 8-bit palette BMP: each pixel an index into <paramref name="palette"/> (stored B, G, R, 0).</summary>
    public static byte[] Bmp8(byte[] indices, int height, int width, (byte R, byte G, byte B)[] palette)
    {
        var stride = (width + 3) / 4 * 4;
        var pixels = new byte[stride * height];
        for (var y = 0; y < height; y++)
            indices.AsSpan(y * width, width).CopyTo(pixels.AsSpan((height - 1 - y) * stride));
        var table = new byte[palette.Length * 4];
        for (var i = 0; i < palette.Length; i++)
        {
            table[i * 4] = palette[i].B;
            table[i * 4 + 1] = palette[i].G;
            table[i * 4 + 2] = palette[i].R;
        }
        return Bmp(8, table, pixels, height, width, palette.Length);
    }

    private static byte[] Bmp(int bitsPerPixel, byte[] palette, byte[] pixels, int height, int width, int colorsUsed = 0)
    {
        const int fileHeader = 14, infoHeader = 40;
        var offset = fileHeader + infoHeader + palette.Length;
        var file = new byte[offset + pixels.Length];
        var s = file.AsSpan();
        s[0] = (byte)'B';
        s[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(s[2..], file.Length);
        BinaryPrimitives.WriteInt32LittleEndian(s[10..], offset);
        BinaryPrimitives.WriteInt32LittleEndian(s[14..], infoHeader);
        BinaryPrimitives.WriteInt32LittleEndian(s[18..], width);
        BinaryPrimitives.WriteInt32LittleEndian(s[22..], height);   // positive: rows stored bottom-up
        BinaryPrimitives.WriteInt16LittleEndian(s[26..], 1);        // planes
        BinaryPrimitives.WriteInt16LittleEndian(s[28..], (short)bitsPerPixel);
        BinaryPrimitives.WriteInt32LittleEndian(s[30..], 0);        // BI_RGB, uncompressed
        BinaryPrimitives.WriteInt32LittleEndian(s[34..], pixels.Length);
        BinaryPrimitives.WriteInt32LittleEndian(s[38..], 2835);     // 72 dpi
        BinaryPrimitives.WriteInt32LittleEndian(s[42..], 2835);
        BinaryPrimitives.WriteInt32LittleEndian(s[46..], colorsUsed);
        palette.CopyTo(s[54..]);
        pixels.CopyTo(s[offset..]);
        return file;
    }

    /// <summary>PNG color types used here: 0 gray, 2 RGB, 6 RGBA.</summary>
    public const int PngGray = 0, PngRgb = 2, PngRgba = 6;

    /// <summary>
    /// A PNG of one IDAT chunk: each row of <paramref name="samples"/> (width · channels samples, big-endian
    /// 16-bit ones when <paramref name="bitDepth"/> is 16) behind filter type 0, compressed by zlib.
    /// </summary>
    public static byte[] Png(byte[] samples, int height, int width, int colorType, int bitDepth = 8)
    {
        var channels = colorType switch { PngGray => 1, PngRgb => 3, PngRgba => 4, _ => throw new ArgumentOutOfRangeException(nameof(colorType)) };
        var rowBytes = width * channels * bitDepth / 8;
        Assert.Equal(rowBytes * height, samples.Length);
        var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            for (var y = 0; y < height; y++)
            {
                zlib.WriteByte(0);   // filter type 0: the row as it is
                zlib.Write(samples, y * rowBytes, rowBytes);
            }

        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = (byte)bitDepth;
        header[9] = (byte)colorType;   // compression, filter method and interlace stay 0

        var file = new MemoryStream();
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        WriteChunk(file, "IHDR", header);
        WriteChunk(file, "IDAT", compressed.ToArray());
        WriteChunk(file, "IEND", []);
        return file.ToArray();
    }

    /// <summary>[C, H, W] planes as interleaved PNG samples (R, G, B[, A] per pixel), 8 bits each.</summary>
    public static byte[] Interleave(byte[] planes, int channels, int height, int width)
    {
        var samples = new byte[planes.Length];
        for (var c = 0; c < channels; c++)
        for (var i = 0; i < height * width; i++)
            samples[i * channels + c] = planes[c * height * width + i];
        return samples;
    }

    private static void WriteChunk(Stream file, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        var typeAndData = new byte[4 + data.Length];
        for (var i = 0; i < 4; i++) typeAndData[i] = (byte)type[i];
        data.CopyTo(typeAndData, 4);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typeAndData));   // over type and data, not length
        file.Write(length);
        file.Write(typeAndData);
        file.Write(crc);
    }

    /// <summary>CRC-32 as PNG and zlib define it (reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF), bit by bit.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return crc ^ 0xFFFFFFFFu;
    }
}

/// <summary>Test pixels and tensor conversions.</summary>
internal static class TestPixels
{
    /// <summary>[C, H, W] bytes uniform in 0..255 from a seeded System.Random.</summary>
    public static byte[] Random(int seed, int channels, int height, int width)
    {
        var pixels = new byte[channels * height * width];
        new Random(seed).NextBytes(pixels);
        return pixels;
    }

    /// <summary>A smooth [C, H, W] pattern (sums of slow sines, a different phase per channel), which JPEG keeps well.</summary>
    public static byte[] Smooth(int channels, int height, int width)
    {
        var pixels = new byte[channels * height * width];
        for (var c = 0; c < channels; c++)
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
            pixels[(c * height + y) * width + x] =
                (byte)Math.Round(127.5 + 60 * Math.Sin(0.11 * x + 1.3 * c) + 60 * Math.Cos(0.07 * y - 0.4 * c));
        return pixels;
    }

    public static Tensor Image(byte[] pixels, int channels, int height, int width) =>
        Tensor.FromSpan<byte>(pixels, [channels, height, width]);

    /// <summary>The pixels of a uint8 image after checking it has the shape [C, H, W].</summary>
    public static byte[] Of(Tensor image, int channels, int height, int width)
    {
        Assert.Equal(ScalarType.UInt8, image.Type);
        Assert.Equal([channels, height, width], image.Shape);
        return image.ToArray<byte>();
    }
}
