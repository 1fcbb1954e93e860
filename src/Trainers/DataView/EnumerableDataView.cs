namespace MLNetNormalization.Data;

/// <summary>
/// A view over an <see cref="IEnumerable{T}"/>: one column per <see cref="RowMember"/> of <typeparamref name="TRow"/>.
/// Every cursor enumerates the source again, so a lazy sequence is evaluated once per cursor, as it moves.
/// A null string reads as "" and a null array as an empty vector.
/// </summary>
internal sealed class EnumerableDataView<TRow> : IDataView where TRow : class
{
    private readonly IEnumerable<TRow> _source;
    private readonly IReadOnlyList<RowMember> _members;

    public EnumerableDataView(IEnumerable<TRow> source)
    {
        _source = source;
        _members = RowMember.Of(typeof(TRow));
        var builder = new DataViewSchema.Builder();
        foreach (var member in _members) builder.AddColumn(member.ColumnName, member.ColumnType);
        Schema = builder.ToSchema();
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => false;

    public long? GetRowCount() => _source.TryGetNonEnumeratedCount(out var count) ? count : null;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, Schema.ToActiveFlags(columnsNeeded));

    private sealed class Cursor(EnumerableDataView<TRow> view, bool[] active) : DataViewRowCursor
    {
        private IEnumerator<TRow>? _rows;
        private TRow? _current;

        public override DataViewSchema Schema => view.Schema;

        public override bool IsColumnActive(DataViewSchema.Column column) => active[column.Index];

        protected override bool MoveNextCore()
        {
            _rows ??= view._source.GetEnumerator();
            if (!_rows.MoveNext()) return false;
            _current = _rows.Current ?? throw new InvalidDataException(
                $"Row {Position + 1} of the enumerable given to LoadFromEnumerable<{typeof(TRow).Name}> is null; every row must be an object.");
            return true;
        }

        protected override ValueGetter<TValue> GetGetterCore<TValue>(DataViewSchema.Column column)
        {
            var member = view._members[column.Index];
            if (column.Type is VectorDataViewType vector)
                return GenericCall.Invoke<ValueGetter<TValue>>(typeof(Cursor), nameof(VectorGetter), vector.ItemType.RawType, this, member);
            var read = member.CompileGetter<TRow, TValue>();
            if (typeof(TValue) == typeof(string))
                return (ref TValue value) => value = read(_current!) ?? (TValue)(object)"";
            return (ref TValue value) => value = read(_current!);
        }

        private ValueGetter<TItem[]> VectorGetter<TItem>(RowMember member)
        {
            var read = member.CompileGetter<TRow, TItem[]?>();
            return (ref TItem[] value) => VectorCopy.Into<TItem>(read(_current!) ?? [], ref value);
        }

        protected override void Dispose(bool disposing) => _rows?.Dispose();
    }
}
