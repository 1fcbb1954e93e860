using System.Buffers.Binary;
using System.IO.Compression;

namespace MLNetNormalization.Data;

/// <summary>
/// An open IDX file (gzipped or not) whose header has been read: the values follow, to be read in order, so a
/// data view can stream records without holding the file in memory. Only the unsigned-byte type (0x08), which
/// MNIST image and label files use, is supported.
/// </summary>
internal sealed class IdxReader : IDisposable
{
    private const byte UnsignedByteType = 0x08;

    private readonly FileStream _file;
    private readonly Stream _stream;
    private readonly bool _isGzip;

    private IdxReader(string path, FileStream file, bool isGzip)
    {
        Path = path;
        _file = file;
        _isGzip = isGzip;
        _stream = isGzip ? new GZipStream(file, CompressionMode.Decompress) : file;
    }

    public string Path { get; }

    public int[] Dimensions { get; private set; } = [];

    /// <summary>The number of values: the product of the dimensions.</summary>
    public long ValueCount => Dimensions.Aggregate(1L, (count, d) => count * d);

    public static IdxReader Open(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"The IDX file {path} does not exist.", path);
        var file = File.OpenRead(path);
        var isGzip = file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
        file.Position = 0;
        var reader = new IdxReader(path, file, isGzip);
        try
        {
            reader.ReadHeader();
            return reader;
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <summary>Reads the next values into <paramref name="buffer"/>; <paramref name="what"/> names them in the truncation error.</summary>
    public void Read(Span<byte> buffer, string what)
    {
        try
        {
            _stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{Path} is truncated: it ends inside {what}.", e);
        }
        catch (InvalidDataException e) when (_isGzip && e.Message.Contains("gzip", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"{Path} is a damaged gzip file: {e.Message}", e);
        }
    }

    private void ReadHeader()
    {
        Span<byte> header = stackalloc byte[4];
        Read(header, "its header");
        if (header[0] != 0 || header[1] != 0)
            throw new InvalidDataException($"{Path} is not an IDX file: it must start with two zero bytes.");
        if (header[2] != UnsignedByteType)
            throw new InvalidDataException($"{Path} holds IDX type 0x{header[2]:x2}; only unsigned bytes (0x08), as in MNIST image and label files, are supported.");
        var dimensions = new int[header[3]];
        Span<byte> size = stackalloc byte[4];
        for (var d = 0; d < dimensions.Length; d++)
        {
            Read(size, $"the size of dimension {d}");
            dimensions[d] = BinaryPrimitives.ReadInt32BigEndian(size);
            if (dimensions[d] < 0) throw new InvalidDataException($"{Path} declares a negative size for dimension {d}.");
        }
        Dimensions = dimensions;
    }

    public void Dispose()
    {
        _stream.Dispose();
        _file.Dispose();
    }
}
