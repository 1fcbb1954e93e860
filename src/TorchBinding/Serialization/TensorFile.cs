using System.Buffers.Binary;
using System.Text;

namespace MLNetNormalization.TorchBinding.Serialization;

/// <summary>
/// Named tensors in one file, bit for bit; the format is documented in docs/tensor-file-format.md.
/// Writes go to a temporary file renamed over the target, so a crash mid-write leaves the old file intact.
/// </summary>
public static class TensorFile
{
    private static ReadOnlySpan<byte> Magic => "MLNTENSR"u8;
    public const int FormatVersion = 1;

    public static void Save(string path, IEnumerable<(string Name, Tensor Value)> tensors)
    {
        var temporary = path + ".tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write))
            {
                Save(stream, tensors);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);   // a failed write leaves the old file, and no debris beside it
            throw;
        }
    }

    /// <summary>
    /// Writes the same bytes as <see cref="Save(string, IEnumerable{ValueTuple{string, Tensor}})"/> to
    /// <paramref name="stream"/>, which stays open: for containers (a model file's zip entries) that hold tensor files.
    /// </summary>
    public static void Save(Stream stream, IEnumerable<(string Name, Tensor Value)> tensors)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        var entries = tensors.ToList();
        writer.Write(Magic);
        writer.Write(FormatVersion);
        writer.Write(entries.Count);
        foreach (var (name, value) in entries) WriteEntry(writer, name, value);
        writer.Flush();
    }

    private static void WriteEntry(BinaryWriter writer, string name, Tensor value)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        writer.Write(nameBytes.Length);
        writer.Write(nameBytes);
        writer.Write((int)value.Type);
        var shape = value.Shape;
        writer.Write(shape.Length);
        foreach (var size in shape) writer.Write(size);
        var bytes = new byte[value.ElementCount * value.Type.ElementSize()];
        value.CopyBytesTo(bytes);
        writer.Write((long)bytes.Length);
        writer.Write(bytes);
    }

    /// <summary>Reads every tensor of a file written by <c>Save</c>; the caller owns (disposes) them.</summary>
    public static Dictionary<string, Tensor> Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"The tensor file {path} does not exist.", path);
        using var stream = File.OpenRead(path);
        return Load(stream, path);
    }

    /// <summary>
    /// Reads every tensor of <paramref name="stream"/> (from its position to its end, which must be the tensor
    /// file's end); errors name <paramref name="sourceName"/>. The stream must be seekable: its length bounds every
    /// size read, so a corrupt size cannot make us allocate more than the stream holds. It stays open.
    /// </summary>
    public static Dictionary<string, Tensor> Load(Stream stream, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentException.ThrowIfNullOrEmpty(sourceName);
        if (!stream.CanSeek)
            throw new ArgumentException($"Reading {sourceName}: TensorFile.Load needs a seekable stream; copy it into a MemoryStream first.", nameof(stream));
        var result = new Dictionary<string, Tensor>();
        try
        {
            using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
            if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
                throw new InvalidDataException($"{sourceName} is not a tensor file (its first bytes are not MLNTENSR).");
            var version = reader.ReadInt32();
            if (version != FormatVersion)
                throw new InvalidDataException($"{sourceName} has tensor file format version {version}; this build reads version {FormatVersion}.");
            var count = reader.ReadInt32();
            for (var i = 0; i < count; i++)
            {
                var (name, tensor) = ReadEntry(reader, sourceName);
                if (!result.TryAdd(name, tensor))
                {
                    tensor.Dispose();
                    throw new InvalidDataException($"{sourceName} holds '{name}' twice.");
                }
            }
            if (stream.Position != stream.Length)
                throw new InvalidDataException($"{sourceName} has {stream.Length - stream.Position} bytes after its last tensor.");
            return result;
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException)
        {
            foreach (var tensor in result.Values) tensor.Dispose();
            if (e is EndOfStreamException)
                throw new InvalidDataException($"{sourceName} is truncated: it ends inside tensor {result.Count + 1}.", e);
            throw;
        }
    }

    private static (string, Tensor) ReadEntry(BinaryReader reader, string path)
    {
        var nameLength = reader.ReadInt32();
        if (nameLength is < 0 or > 4096) throw new InvalidDataException($"{path} is corrupt: a name length of {nameLength}.");
        var name = Encoding.UTF8.GetString(reader.ReadBytes(nameLength));
        var type = (ScalarType)reader.ReadInt32();
        if (!Enum.IsDefined(type)) throw new InvalidDataException($"{path} is corrupt: '{name}' has unknown element type code {(int)type}.");
        var rank = reader.ReadInt32();
        if (rank is < 0 or > 16) throw new InvalidDataException($"{path} is corrupt: '{name}' has rank {rank}.");
        var shape = new long[rank];
        long elements = 1;
        for (var d = 0; d < rank; d++)
        {
            shape[d] = reader.ReadInt64();
            if (shape[d] < 0) throw new InvalidDataException($"{path} is corrupt: '{name}' has a negative size.");
            if (shape[d] != 0 && elements > long.MaxValue / shape[d])
                throw new InvalidDataException($"{path} is corrupt: the sizes of '{name}' overflow.");
            elements *= shape[d];
        }
        var byteCount = reader.ReadInt64();
        if (elements > long.MaxValue / type.ElementSize() || byteCount != elements * type.ElementSize())
            throw new InvalidDataException($"{path} is corrupt: '{name}' declares {byteCount} bytes for {elements} {type} elements.");
        // Checked before allocating: a corrupt size must not make us allocate what the file cannot hold.
        if (byteCount > reader.BaseStream.Length - reader.BaseStream.Position) throw new EndOfStreamException();
        var bytes = reader.ReadBytes(checked((int)byteCount));
        if (bytes.Length != byteCount) throw new EndOfStreamException();
        return (name, Tensor.FromBytes(bytes, type, shape));
    }
}
