namespace MLNetNormalization.Data;

/// <summary>
/// A delimited text file read line by line: every cursor opens the file when it first moves and parses only its
/// active columns. Blank lines are skipped. Errors name the file, the line and the column.
/// </summary>
internal sealed class TextFileDataView : IDataView
{
    private readonly string _path;
    private readonly char _separator;
    private readonly bool _hasHeader;
    private readonly bool _allowQuoting;
    private readonly int[] _fieldIndices;

    public TextFileDataView(Type rowType, string path, char separator, bool hasHeader, bool allowQuoting)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"LoadFromTextFile: the file {path} does not exist.", path);
        if (allowQuoting && separator == '"')
            throw new ArgumentException("The separator cannot be the quote character '\"' while allowQuoting is true.", nameof(separator));
        _path = path;
        _separator = separator;
        _hasHeader = hasHeader;
        _allowQuoting = allowQuoting;
        var members = RowMember.Of(rowType);
        var builder = new DataViewSchema.Builder();
        _fieldIndices = new int[members.Count];
        for (var i = 0; i < members.Count; i++)
        {
            var member = members[i];
            if (member.ColumnType is not PrimitiveDataViewType)
                throw new NotSupportedException(
                    $"{rowType.Name}.{member.Member.Name} is a {member.MemberType.Name}; LoadFromTextFile reads one field per member, so members must be scalars (not arrays).");
            _fieldIndices[i] = member.LoadColumn ?? throw new ArgumentException(
                $"{rowType.Name}.{member.Member.Name} has no [LoadColumn(fieldIndex)] attribute; LoadFromTextFile needs one on every public read-write member to know which field to read.");
            builder.AddColumn(member.ColumnName, member.ColumnType);
        }
        Schema = builder.ToSchema();
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => false;

    /// <summary>Unknown: counting would read the whole file.</summary>
    public long? GetRowCount() => null;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, Schema.ToActiveFlags(columnsNeeded));

    /// <summary>The parsed value of one active column on the current line.</summary>
    private abstract class Field(int columnIndex)
    {
        public int ColumnIndex { get; } = columnIndex;

        public abstract void Parse(string text, string location, string columnName, int fieldIndex);
    }

    private sealed class Field<TValue>(int columnIndex) : Field(columnIndex)
    {
        private readonly Func<string, (bool Ok, TValue Value)> _parse = TextFieldParser.For<TValue>();

        public TValue Value { get; private set; } = default!;

        public override void Parse(string text, string location, string columnName, int fieldIndex)
        {
            var (ok, value) = _parse(text);
            if (!ok)
                throw new InvalidDataException($"{location}: column '{columnName}' (field {fieldIndex}) holds '{text}', which is not a {typeof(TValue).Name}.");
            Value = value;
        }
    }

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly TextFileDataView _view;
        private readonly bool[] _active;
        private readonly Field?[] _fields;
        private StreamReader? _reader;
        private int _lineNumber;

        public Cursor(TextFileDataView view, bool[] active)
        {
            _view = view;
            _active = active;
            _fields = new Field?[active.Length];
            for (var i = 0; i < active.Length; i++)
            {
                if (!active[i]) continue;
                _fields[i] = (Field)Activator.CreateInstance(typeof(Field<>).MakeGenericType(view.Schema[i].Type.RawType), i)!;
            }
        }

        public override DataViewSchema Schema => _view.Schema;

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        protected override bool MoveNextCore()
        {
            if (_reader is null)
            {
                _reader = Open(_view._path);
                if (_view._hasHeader)
                {
                    _reader.ReadLine();
                    _lineNumber++;
                }
            }
            string? line;
            do
            {
                line = _reader.ReadLine();
                if (line is null) return false;
                _lineNumber++;
            } while (string.IsNullOrWhiteSpace(line));
            var location = $"{_view._path}:{_lineNumber}";
            var fields = CsvLine.Split(line, _view._separator, _view._allowQuoting, location);
            foreach (var field in _fields)
            {
                if (field is null) continue;
                var fieldIndex = _view._fieldIndices[field.ColumnIndex];
                var name = _view.Schema[field.ColumnIndex].Name;
                if (fieldIndex >= fields.Count)
                    throw new InvalidDataException(
                        $"{location}: column '{name}' is field {fieldIndex}, but the line has only {fields.Count} field(s) separated by '{_view._separator}'.");
                field.Parse(fields[fieldIndex], location, name, fieldIndex);
            }
            return true;
        }

        private static StreamReader Open(string path)
        {
            try
            {
                return new StreamReader(path);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                throw new FileNotFoundException($"The text file {path} was loaded but no longer exists; a data view reads its file each time a cursor moves over it.", path, e);
            }
        }

        protected override ValueGetter<TValue> GetGetterCore<TValue>(DataViewSchema.Column column)
        {
            var field = (Field<TValue>)_fields[column.Index]!;
            return (ref TValue value) => value = field.Value;
        }

        protected override void Dispose(bool disposing) => _reader?.Dispose();
    }
}
