using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace MLNetNormalization.Data;

/// <summary>
/// Labeled images the trainer read from an <c>IDataView</c> once, kept in a temporary file rather than in memory, so
/// that training on more images than memory holds takes memory for a few batches only, and each epoch reads the
/// examples in any order (a full shuffle) without reading the view again. One fixed-size record per image, in the
/// features' own form (<see cref="ImageFeatures"/>): the C·H·W float32 pixels of a Vector&lt;Single&gt; column, or the
/// decoded and resized R, G, B bytes of an encoded image (a quarter of its pixels' size as floats). The labels stay in
/// memory. The file is created in <see cref="Path.GetTempPath"/> (TMPDIR) and unlinked at once on Linux and macOS
/// (deleted on close on Windows), so nothing is left behind, even by a process killed with SIGKILL.
/// Reads are positioned and may run on several threads at once.
/// </summary>
internal sealed class ImageCache : ILabeledImageSource, IDisposable
{
    private readonly FileStream _file;
    private readonly FeatureKind _kind;
    private readonly int _recordSize;
    private readonly List<int> _labels = [];
    private bool _writing = true;

    private ImageCache(FileStream file, ImageShape shape, FeatureKind kind, IReadOnlyList<string> classNames)
    {
        _file = file;
        Shape = shape;
        _kind = kind;
        ClassNames = classNames;
        _recordSize = ImageFeatures.RecordSize(kind, shape);
    }

    /// <summary>An empty cache for images of <paramref name="shape"/> whose features are of <paramref name="kind"/>.</summary>
    /// <exception cref="IOException">The temporary folder cannot take the file (the message names it and TMPDIR).</exception>
    public static ImageCache Create(ImageShape shape, FeatureKind kind, IReadOnlyList<string> classNames)
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
            return new ImageCache(file, shape, kind, classNames);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw NoRoom(folder, e);
        }
    }

    public int Count => _labels.Count;

    public ImageShape Shape { get; }

    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Bytes on disk: what the temporary folder must have room for.</summary>
    public long Bytes => (long)_recordSize * Count;

    /// <summary>Appends one image, given as its record (<see cref="ImageFeatures.RecordSize"/> bytes), and its label.</summary>
    /// <exception cref="IOException">The disk is full (the message names the folder and TMPDIR).</exception>
    public void Append(ReadOnlySpan<byte> record, int label)
    {
        if (!_writing) throw new InvalidOperationException("The image cache is complete; it takes no more images.");
        try
        {
            _file.Write(record[.._recordSize]);
        }
        catch (IOException e)
        {
            throw NoRoom(Path.GetTempPath(), e);
        }
        _labels.Add(label);
    }

    /// <summary>Ends writing: what was appended can be read from now on.</summary>
    public ImageCache Complete()
    {
        try
        {
            _file.Flush();
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

    public void Dispose() => _file.Dispose();

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
