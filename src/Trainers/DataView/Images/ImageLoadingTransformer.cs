using MLNetNormalization.Model;
using MLNetNormalization.TorchBinding.Imaging;

namespace MLNetNormalization.Data;

/// <summary>
/// Adds an image column decoded from a column of file paths. Each cursor decodes a row's file when it moves onto
/// the row (only when the image column is read, unless unreadable files are skipped: then every row is decoded,
/// so that which rows exist never depends on the columns read). Safe to use from several threads.
/// </summary>
public sealed class ImageLoadingTransformer : ITransformer, ISavableTransformer
{
    private readonly string? _imageFolder;
    private readonly ImageColorMode _color;
    private readonly bool _skipUnreadable;
    private long _skippedCount;

    internal ImageLoadingTransformer(string outputColumnName, string? imageFolder, string inputColumnName, ImageColorMode color, bool skipUnreadable)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
        if (!Enum.IsDefined(color))
            throw new ArgumentOutOfRangeException(nameof(color), color, "Use ImageColorMode.Color or ImageColorMode.Grayscale.");
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
        _imageFolder = string.IsNullOrEmpty(imageFolder) ? null : imageFolder;
        _color = color;
        _skipUnreadable = skipUnreadable;
        OutputType = new ImageDataViewType(color == ImageColorMode.Grayscale ? 1 : 3);
    }

    public string OutputColumnName { get; }

    public string InputColumnName { get; }

    internal ImageDataViewType OutputType { get; }

    internal const string SavedKindName = "LoadImages";

    private const string OptionsEntry = "options.json";

    /// <summary>
    /// The saved form. The folder is stored as given: a relative one is resolved against the current directory when
    /// images are read, after loading as after fitting, so a model that must work from any directory needs an absolute folder.
    /// </summary>
    private sealed record OptionsJson(string OutputColumnName, string InputColumnName, string? ImageFolder, string Color, bool SkipUnreadable);

    string ISavableTransformer.KindName => SavedKindName;

    void ISavableTransformer.Save(ModelWriter writer) =>
        writer.WriteJson(OptionsEntry, new OptionsJson(OutputColumnName, InputColumnName, _imageFolder, _color.ToString(), _skipUnreadable));

    internal static ImageLoadingTransformer Load(ModelReader reader)
    {
        var options = reader.ReadJson<OptionsJson>(OptionsEntry);
        var color = reader.ParseEnum<ImageColorMode>(OptionsEntry, options.Color);
        try
        {
            return new ImageLoadingTransformer(options.OutputColumnName, options.ImageFolder, options.InputColumnName, color, options.SkipUnreadable);
        }
        catch (ArgumentException e)
        {
            throw reader.Damaged(OptionsEntry, $"options LoadImages refuses ({e.Message})");
        }
    }

    /// <summary>
    /// With skipUnreadable: how many rows the most recent cursor to reach the end of its rows dropped because their
    /// file could not be read or decoded (0 before any cursor has finished, and always 0 without skipUnreadable).
    /// A cursor disposed before its end does not update it.
    /// </summary>
    public long SkippedCount => Interlocked.Read(ref _skippedCount);

    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInput(inputSchema);
        return new DataViewSchema.Builder().AddColumns(inputSchema).AddColumn(OutputColumnName, OutputType).ToSchema();
    }

    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new View(this, input, CheckInput(input.Schema));
    }

    private DataViewSchema.Column CheckInput(DataViewSchema schema)
    {
        var column = schema.Require(InputColumnName, "LoadImages");
        if (column.Type is not TextDataViewType)
            throw new ArgumentOutOfRangeException(nameof(schema), $"LoadImages: the column '{column.Name}' is {column.Type}; it must be a text column of image paths.");
        return column;
    }

    private ImagePixels? Load(string path, long row)
    {
        var fullPath = _imageFolder is null ? path : Path.Combine(_imageFolder, path);
        try
        {
            using var image = ImageCodec.DecodeFile(fullPath, _color);
            var shape = image.Shape;
            return new ImagePixels(image.ToArray<byte>(), (int)shape[0], (int)shape[1], (int)shape[2]);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException)
        {
            if (_skipUnreadable) return null;
            throw new InvalidDataException(
                $"LoadImages (column '{InputColumnName}', row {row + 1}): the image file {fullPath} could not be loaded: {e.Message} " +
                "Fix or remove the file, or pass skipUnreadable: true to drop such rows.", e);
        }
    }

    private sealed class View : IDataView
    {
        private readonly ImageLoadingTransformer _transformer;
        private readonly IDataView _source;
        private readonly DataViewSchema.Column _input;

        public View(ImageLoadingTransformer transformer, IDataView source, DataViewSchema.Column input)
        {
            _transformer = transformer;
            _source = source;
            _input = input;
            Schema = transformer.GetOutputSchema(source.Schema);
        }

        public DataViewSchema Schema { get; }

        public bool CanShuffle => false;

        // Dropped rows make the count unknown until read.
        public long? GetRowCount() => _transformer._skipUnreadable ? null : _source.GetRowCount();

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        {
            var active = Schema.ToActiveFlags(columnsNeeded);
            var decode = _transformer._skipUnreadable || active[_source.Schema.Count];
            var sourceNeeded = _source.Schema.Where(c => active[c.Index] || (decode && c.Index == _input.Index));
            var source = _source.GetRowCursor(sourceNeeded);
            return new Cursor(this, active, decode ? source.GetGetter<string>(_input) : null, source);
        }

        private sealed class Cursor(View view, bool[] active, ValueGetter<string>? getPath, DataViewRowCursor source) : DataViewRowCursor
        {
            private ImagePixels? _image;
            private long _sourceRow = -1;
            private long _skipped;

            public override DataViewSchema Schema => view.Schema;

            public override bool IsColumnActive(DataViewSchema.Column column) => active[column.Index];

            protected override bool MoveNextCore()
            {
                while (source.MoveNext())
                {
                    _sourceRow++;
                    if (getPath is null) return true;
                    var path = "";
                    getPath(ref path);
                    _image = view._transformer.Load(path, _sourceRow);
                    if (_image is not null) return true;
                    _skipped++;
                }
                Interlocked.Exchange(ref view._transformer._skippedCount, _skipped);
                return false;
            }

            protected override ValueGetter<TValue> GetGetterCore<TValue>(DataViewSchema.Column column)
            {
                if (column.Index < view._source.Schema.Count) return source.GetGetter<TValue>(view._source.Schema[column.Index]);
                ValueGetter<ImagePixels> getter = (ref ImagePixels value) => value = _image!;
                return (ValueGetter<TValue>)(Delegate)getter;
            }

            protected override void Dispose(bool disposing) => source.Dispose();
        }
    }
}
