namespace MLNetNormalization.Data;

/// <summary>
/// The image files under a folder: column "ImagePath" (full path) and, with one folder per class, "Label" (the class
/// folder's name). Each cursor lists the folder when it first moves, so files added or removed after loading are
/// seen; classes and files come in ordinal order of their names and paths, the same on every machine.
/// </summary>
internal sealed class ImageDirectoryDataView : IDataView
{
    public const string ImagePathColumn = "ImagePath";
    public const string LabelColumn = "Label";

    private readonly string _folder;
    private readonly bool _useFolderNameAsLabel;
    private readonly HashSet<string> _extensions;

    public ImageDirectoryDataView(string folder, bool useFolderNameAsLabel, IEnumerable<string> extensions)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"LoadImagesFromDirectory: the folder {folder} does not exist.");
        _folder = Path.GetFullPath(folder);
        _useFolderNameAsLabel = useFolderNameAsLabel;
        _extensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var extension in extensions)
        {
            if (string.IsNullOrEmpty(extension) || extension[0] != '.' || extension.Length == 1)
                throw new ArgumentException($"The image extension '{extension}' must be a dot followed by the extension, like \".png\".", nameof(extensions));
            _extensions.Add(extension);
        }
        if (_extensions.Count == 0)
            throw new ArgumentException("LoadImagesFromDirectory needs at least one image extension (like \".png\").", nameof(extensions));
        var builder = new DataViewSchema.Builder().AddColumn(ImagePathColumn, TextDataViewType.Instance);
        if (useFolderNameAsLabel) builder.AddColumn(LabelColumn, TextDataViewType.Instance);
        Schema = builder.ToSchema();
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => false;

    /// <summary>Unknown: counting would list the folder tree.</summary>
    public long? GetRowCount() => null;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, Schema.ToActiveFlags(columnsNeeded));

    /// <summary>The (path, label) rows, listed one class folder at a time.</summary>
    private IEnumerable<(string Path, string Label)> ListImages()
    {
        if (!Directory.Exists(_folder))
            throw new DirectoryNotFoundException($"The image folder {_folder} was loaded but no longer exists; a data view lists it each time a cursor moves over it.");
        if (!_useFolderNameAsLabel)
        {
            foreach (var path in ImagesUnder(_folder, SearchOption.AllDirectories)) yield return (path, "");
            yield break;
        }
        var stray = ImagesUnder(_folder, SearchOption.TopDirectoryOnly).FirstOrDefault();
        if (stray is not null)
            throw new InvalidDataException(
                $"The image {stray} lies directly in {_folder}, outside any class folder; move it into the folder of its class, or pass useFolderNameAsLabel: false.");
        foreach (var classFolder in Directory.GetDirectories(_folder).Order(StringComparer.Ordinal))
        {
            var label = Path.GetFileName(classFolder);
            foreach (var path in ImagesUnder(classFolder, SearchOption.AllDirectories)) yield return (path, label);
        }
    }

    private IEnumerable<string> ImagesUnder(string folder, SearchOption search) =>
        Directory.GetFiles(folder, "*", search).Where(f => _extensions.Contains(Path.GetExtension(f))).Order(StringComparer.Ordinal);

    private sealed class Cursor(ImageDirectoryDataView view, bool[] active) : DataViewRowCursor
    {
        private IEnumerator<(string Path, string Label)>? _rows;

        public override DataViewSchema Schema => view.Schema;

        public override bool IsColumnActive(DataViewSchema.Column column) => active[column.Index];

        protected override bool MoveNextCore()
        {
            _rows ??= view.ListImages().GetEnumerator();
            return _rows.MoveNext();
        }

        protected override ValueGetter<TValue> GetGetterCore<TValue>(DataViewSchema.Column column)
        {
            ValueGetter<string> getter = column.Index == 0
                ? (ref string value) => value = _rows!.Current.Path
                : (ref string value) => value = _rows!.Current.Label;
            return (ValueGetter<TValue>)(Delegate)getter;
        }

        protected override void Dispose(bool disposing) => _rows?.Dispose();
    }
}
