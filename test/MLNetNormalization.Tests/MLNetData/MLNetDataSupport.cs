using System.Buffers.Binary;
using System.IO.Compression;
using MLNetNormalization.Data;

namespace MLNetNormalization.Tests.MLNetData;

/// <summary>An empty folder of its own under the system's temporary folder, deleted with the test.</summary>
public sealed class ScratchFolder : IDisposable
{
    public ScratchFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mlnorm-mlnetdata-" + Guid.NewGuid().ToString("N"));

    /// <summary>The full path of <paramref name="relativePath"/> inside this folder.</summary>
    public string this[string relativePath] => System.IO.Path.Combine(Path, relativePath);

    /// <summary>Creates an empty file at <paramref name="relativePath"/>, and its folders: enough for a listing.</summary>
    public string Touch(string relativePath)
    {
        var path = this[relativePath];
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, []);
        return path;
    }

    public void Dispose()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}

internal static class MLNetDataSupport
{
    /// <summary>Writes an unsigned-byte IDX file: two zero bytes, type 0x08, the rank, big-endian sizes, the values.</summary>
    public static string WriteIdx(string path, int[] dimensions, byte[] values, bool gzip)
    {
        using var file = File.Create(path);
        using Stream stream = gzip ? new GZipStream(file, CompressionLevel.Fastest) : file;
        stream.Write([0, 0, 0x08, (byte)dimensions.Length]);
        Span<byte> size = stackalloc byte[4];
        foreach (var dimension in dimensions)
        {
            BinaryPrimitives.WriteInt32BigEndian(size, dimension);
            stream.Write(size);
        }
        stream.Write(values);
        return path;
    }

    /// <summary>
    /// <paramref name="count"/> one-channel images whose pixels run through every byte value from 0 to 255 (so that every value
    /// is checked), with labels stepping through the classes by 7 (every class gets images unless 7 divides their number).
    /// </summary>
    public static ImageDataset Images(int count, IReadOnlyList<string> classNames, int height = 28, int width = 28)
    {
        var size = height * width;
        var pixels = new byte[count * size];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = (byte)((i * 7 + i / size * 13) % 256);
        var labels = Enumerable.Range(0, count).Select(i => (byte)(i * 7 % classNames.Count)).ToArray();
        return new ImageDataset(pixels, labels, height, width, classNames);
    }
}
