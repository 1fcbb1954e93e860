using System.Buffers.Binary;
using System.IO.Compression;

namespace MLNetNormalization.Trainers.Data;

/// <summary>An unsigned-byte array read from an IDX file, with its dimensions.</summary>
public sealed record IdxArray(int[] Dimensions, byte[] Values);

/// <summary>
/// Reads IDX files (the MNIST / Fashion-MNIST format), gzipped or not: two zero bytes, a type code,
/// the rank, big-endian int32 sizes, then the values row-major. Only the unsigned-byte type (0x08),
/// which the image and label files use, is supported.
/// </summary>
public static class IdxFile
{
    private const byte UnsignedByteType = 0x08;

    public static IdxArray Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"The IDX file {path} does not exist.", path);
        using var file = File.OpenRead(path);
        var isGzip = file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
        file.Position = 0;
        using Stream stream = isGzip ? new GZipStream(file, CompressionMode.Decompress) : file;
        try
        {
            return Read(stream, path);
        }
        catch (InvalidDataException e) when (isGzip && e.Message.Contains("gzip", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"{path} is a damaged gzip file: {e.Message}", e);
        }
    }

    private static IdxArray Read(Stream stream, string path)
    {
        Span<byte> header = stackalloc byte[4];
        ReadExactly(stream, header, path, "its header");
        if (header[0] != 0 || header[1] != 0)
            throw new InvalidDataException($"{path} is not an IDX file: it must start with two zero bytes.");
        if (header[2] != UnsignedByteType)
            throw new InvalidDataException($"{path} holds IDX type 0x{header[2]:x2}; only unsigned bytes (0x08), as in MNIST image and label files, are supported.");
        int rank = header[3];
        var dimensions = new int[rank];
        long count = 1;
        Span<byte> size = stackalloc byte[4];
        for (var d = 0; d < rank; d++)
        {
            ReadExactly(stream, size, path, $"the size of dimension {d}");
            dimensions[d] = BinaryPrimitives.ReadInt32BigEndian(size);
            if (dimensions[d] < 0) throw new InvalidDataException($"{path} declares a negative size for dimension {d}.");
            count *= dimensions[d];
        }
        var values = new byte[checked((int)count)];
        ReadExactly(stream, values, path, $"its {count} values");
        return new IdxArray(dimensions, values);
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string path, string what)
    {
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path} is truncated: it ends inside {what}.", e);
        }
    }
}
