using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace MLNetNormalization.Data;

/// <summary>
/// Labeled images the trainer read from an <c>IDataView</c> once, so that each epoch reads the examples in any order (a
/// full shuffle) without reading the view again. One fixed-size record per image, in the features' own form
/// (<see cref="ImageFeatures"/>): the C·H·W float32 pixels of a Vector&lt;Single&gt; column, or the decoded and resized
/// R, G, B bytes of an encoded image (a quarter of its pixels' size as floats). The records stay in memory up to
/// <see cref="MemoryLimit"/> bytes (where an epoch reads them fastest: Fashion-MNIST's 60,000 images are 188 MB); a cache
/// that grows past it moves them to a temporary file and goes on there, so that training on more images than memory
/// holds takes memory for a few batches and the limit (bench/StreamingBench measured both). The labels stay in memory.
/// The file is created in <see cref="Path.GetTempPath"/> (TMPDIR) and unlinked at once on Linux and macOS (deleted on
/// close on Windows), so nothing is left behind, even by a process killed with SIGKILL. Reads may run on several
/// threads at once.
/// </summary>
internal sealed class ImageCache : ILabeledImageSource, IDisposable
{
    /// <summary>The most bytes of records a cache keeps in memory before it moves them to its file: 256 MiB.</summary>
    public const long MemoryLimit = 256L << 20;

    // Records in memory are kept in chunks of whole records, about 16 MiB each (one record at least).
    private const int ChunkBytes = 16 << 20;

    private readonly FeatureKind _kind;
    private readonly int _recordSize, _recordsPerChunk;
    private readonly long _memoryLimit;
    private readonly List<byte[]> _chunks = [];
    private readonly List<int> _labels = [];
    private FileStream? _file;
    private bool _writing = true;

    private ImageCache(ImageShape shape, FeatureKind kind, IReadOnlyList<string> classNames, long memoryLimit)
    {
        Shape = shape;
        _kind = kind;
        ClassNames = classNames;
        _recordSize = ImageFeatures.RecordSize(kind, shape);
        _recordsPerChunk = Math.Max(1, ChunkBytes / _recordSize);
        _memoryLimit = memoryLimit;
    }

    /// <summary>An empty cache for images of <paramref name="shape"/> whose features are of <paramref name="kind"/>.</summary>
    /// <param name="memoryLimit">The most bytes of records kept in memory (<see cref="MemoryLimit"/>; the tests give less).</param>
    public static ImageCache Create(ImageShape shape, FeatureKind kind, IReadOnlyList<string> classNames, long memoryLimit = MemoryLimit) =>
        new(shape, kind, classNames, memoryLimit);

    // The temporary file the records move to when they outgrow the memory limit.
    private static FileStream CreateFile()
    {
        var folder = Path.GetTempPath();
        var path = Path.Combine(folder, $"mlnorm-images-{Guid.NewGuid():N}.bin");
        try
        {
            var windows = OperatingSystem.IsWindows();
            var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20,
                                      windows ? FileOptions.DeleteOnClose : FileOptions.None);
            // Unlinked while open: the data live as long as the handle, and the space returns to the disk when the process ends.
            if (!windows) File.Delete(path);
            return file;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw NoRoom(folder, e);
        }
    }

    public int Count => _labels.Count;

    public ImageShape Shape { get; }

    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The records' bytes: in memory up to <see cref="MemoryLimit"/>, else in the temporary file, which must have room for them.</summary>
    public long Bytes => (long)_recordSize * Count;

    /// <summary>Whether the records moved to the temporary file.</summary>
    public bool OnDisk => _file is not null;

    /// <summary>Appends one image, given as its record (<see cref="ImageFeatures.RecordSize"/> bytes), and its label.</summary>
    /// <exception cref="IOException">The disk is full (the message names the folder and TMPDIR).</exception>
    public void Append(ReadOnlySpan<byte> record, int label)
    {
        if (!_writing) throw new InvalidOperationException("The image cache is complete; it takes no more images.");
        if (_file is null && Bytes + _recordSize > _memoryLimit) MoveToFile();
        if (_file is null)
        {
            var slot = Count % _recordsPerChunk;
            if (slot == 0) _chunks.Add(new byte[_recordsPerChunk * _recordSize]);
            record[.._recordSize].CopyTo(_chunks[^1].AsSpan(slot * _recordSize));
        }
        else
        {
            try
            {
                _file.Write(record[.._recordSize]);
            }
            catch (IOException e)
            {
                throw NoRoom(Path.GetTempPath(), e);
            }
        }
        _labels.Add(label);
    }

    // The records so far to the file, in order; the chunks are let go.
    private void MoveToFile()
    {
        _file = CreateFile();
        try
        {
            for (var chunk = 0; chunk < _chunks.Count; chunk++)
                _file.Write(_chunks[chunk].AsSpan(0, Math.Min(_recordsPerChunk, Count - chunk * _recordsPerChunk) * _recordSize));
        }
        catch (IOException e)
        {
            throw NoRoom(Path.GetTempPath(), e);
        }
        _chunks.Clear();
    }

    /// <summary>Ends writing: what was appended can be read from now on.</summary>
    public ImageCache Complete()
    {
        try
        {
            _file?.Flush();
        }
        catch (IOException e)
        {
            throw NoRoom(Path.GetTempPath(), e);
        }
        _writing = false;
        return this;
    }

    public int GetLabel(int index) => _labels[index];

    public void ReadImage(int index, Span<float> destination)
    {
        if (_writing) throw new InvalidOperationException("The image cache is being written; complete it before reading.");
        if (_file is null)
        {
            var slot = index % _recordsPerChunk;
            ImageFeatures.RecordToImage(_kind, Shape, _chunks[index / _recordsPerChunk].AsSpan(slot * _recordSize, _recordSize), destination);
            return;
        }
        var offset = (long)index * _recordSize;
        if (_kind == FeatureKind.Pixels)
        {
            // The record is the floats themselves.
            ReadExactly(_file.SafeFileHandle, MemoryMarshal.AsBytes(destination), offset);
            return;
        }
        var record = ArrayPool<byte>.Shared.Rent(_recordSize);
        try
        {
            ReadExactly(_file.SafeFileHandle, record.AsSpan(0, _recordSize), offset);
            ImageFeatures.RecordToImage(_kind, Shape, record.AsSpan(0, _recordSize), destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(record);
        }
    }

    /// <summary>The examples at <paramref name="indices"/>, in that order, read from this cache (which must outlive them).</summary>
    public ILabeledImageSource Subset(IReadOnlyList<int> indices) => new IndexedImageSource(this, [.. indices]);

    public void Dispose()
    {
        _file?.Dispose();
        _chunks.Clear();
    }

    private static void ReadExactly(SafeFileHandle file, Span<byte> buffer, long offset)
    {
        while (buffer.Length > 0)
        {
            var read = RandomAccess.Read(file, buffer, offset);
            if (read == 0) throw new EndOfStreamException("The image cache ended before the image asked for.");
            buffer = buffer[read..];
            offset += read;
        }
    }

    private static IOException NoRoom(string folder, Exception e) => new(
        $"ImageClassifierWithNorm: the training images are kept in a temporary file in {folder} while Fit runs, and it cannot be written there: {e.Message} " +
        "Free space there, or point the TMPDIR environment variable (TMP on Windows) at a folder on a larger disk.", e);

    /// <summary>Some of a source's examples, in a given order.</summary>
    private sealed class IndexedImageSource(ILabeledImageSource source, int[] indices) : ILabeledImageSource
    {
        public int Count => indices.Length;

        public ImageShape Shape => source.Shape;

        public IReadOnlyList<string> ClassNames => source.ClassNames;

        public int GetLabel(int index) => source.GetLabel(indices[index]);

        public void ReadImage(int index, Span<float> destination) => source.ReadImage(indices[index], destination);
    }
}
