namespace MLNetNormalization.Data;

/// <summary>Loading, saving-to-objects, splitting and shuffling data: the context's <c>Data</c> catalog.</summary>
public sealed partial class DataOperationsCatalog
{
    /// <summary>The extensions LoadImagesFromDirectory picks when given none.</summary>
    public static IReadOnlyList<string> DefaultImageExtensions { get; } = [".png", ".jpg", ".jpeg", ".bmp"];

    private readonly Func<int> _nextSeed;

    /// <param name="nextSeed">The seed for an operation given none: drawn from the context's seeded generator.</param>
    internal DataOperationsCatalog(Func<int> nextSeed) => _nextSeed = nextSeed;

    /// <summary>
    /// A view over <paramref name="data"/> with one column per public read-write field or property of
    /// <typeparamref name="TRow"/> (named by [ColumnName] or the member): fields, then properties, each in declaration order. The sequence is
    /// enumerated again by every cursor, as it moves.
    /// </summary>
    public IDataView LoadFromEnumerable<TRow>(IEnumerable<TRow> data) where TRow : class
    {
        ArgumentNullException.ThrowIfNull(data);
        return new EnumerableDataView<TRow>(data);
    }

    /// <summary>
    /// The rows of <paramref name="data"/> as <typeparamref name="TRow"/> objects, read lazily through a cursor.
    /// Each public read-write member needs a column of its name whose values are of the member's type.
    /// With <paramref name="reuseRowObject"/>, the same object is refilled for every row.
    /// </summary>
    public IEnumerable<TRow> CreateEnumerable<TRow>(IDataView data, bool reuseRowObject) where TRow : class, new()
    {
        ArgumentNullException.ThrowIfNull(data);
        return new DataViewRows<TRow>(data, reuseRowObject);
    }

    /// <summary>
    /// A delimited text file: one column per public read-write member of <typeparamref name="TRow"/>, each with a
    /// [LoadColumn(fieldIndex)]. The file must exist now; it is read line by line by every cursor.
    /// </summary>
    public IDataView LoadFromTextFile<TRow>(string path, char separatorChar = ',', bool hasHeader = false, bool allowQuoting = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new TextFileDataView(typeof(TRow), path, separatorChar, hasHeader, allowQuoting);
    }

    /// <summary>
    /// The image files under <paramref name="folder"/>: "ImagePath" (text, full path) and, when
    /// <paramref name="useFolderNameAsLabel"/>, "Label" (text, the name of the class folder directly under
    /// <paramref name="folder"/> that holds the file, at any depth). Files are matched by extension, any case
    /// (default .png, .jpg, .jpeg, .bmp), and come in ordinal order of class and path.
    /// </summary>
    public IDataView LoadImagesFromDirectory(string folder, bool useFolderNameAsLabel = true, IEnumerable<string>? extensions = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        return new ImageDirectoryDataView(folder, useFolderNameAsLabel, extensions ?? DefaultImageExtensions);
    }

    /// <summary>
    /// An IDX image file (N x H x W bytes) and its label file (N bytes), gzipped or not, as the MNIST and
    /// Fashion-MNIST files are: "Image" (Vector&lt;Byte, H, W&gt;) and "Label" (Byte). The headers are checked now.
    /// </summary>
    public IDataView LoadFromIdxFiles(string imagesPath, string labelsPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagesPath);
        ArgumentException.ThrowIfNullOrEmpty(labelsPath);
        return new IdxDataView(imagesPath, labelsPath);
    }

    /// <summary>
    /// The rows of <paramref name="data"/> in a uniform random order fixed by <paramref name="seed"/> (when null,
    /// the next seed of the context's generator). Each cursor holds its columns of all rows in memory.
    /// </summary>
    public IDataView ShuffleRows(IDataView data, int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new ShuffledDataView(data, seed ?? _nextSeed());
    }
}
