namespace MLNetNormalization.Data;

/// <summary>
/// The source view plus one column computed row by row from one source column. A new column whose name is taken
/// hides the old one (which cursors can still read by index), as in ML.NET.
/// </summary>
internal sealed class MappedColumnDataView<TIn, TOut> : IDataView
{
    private readonly IDataView _source;
    private readonly DataViewSchema.Column _input;
    private readonly Func<TIn, TOut> _map;

    public MappedColumnDataView(IDataView source, DataViewSchema.Column input, string outputName, DataViewType outputType,
        DataViewSchema.Annotations annotations, Func<TIn, TOut> map)
    {
        _source = source;
        _input = input;
        _map = map;
        Schema = new DataViewSchema.Builder().AddColumns(source.Schema).AddColumn(outputName, outputType, annotations).ToSchema();
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => false;

    public long? GetRowCount() => _source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var active = Schema.ToActiveFlags(columnsNeeded);
        var outputIndex = _source.Schema.Count;
        var sourceNeeded = _source.Schema.Where(c => active[c.Index] || (active[outputIndex] && c.Index == _input.Index));
        return new Cursor(this, active, _source.GetRowCursor(sourceNeeded));
    }

    private sealed class Cursor(MappedColumnDataView<TIn, TOut> view, bool[] active, DataViewRowCursor source) : DataViewRowCursor
    {
        public override DataViewSchema Schema => view.Schema;

        public override bool IsColumnActive(DataViewSchema.Column column) => active[column.Index];

        protected override bool MoveNextCore() => source.MoveNext();

        protected override ValueGetter<TValue> GetGetterCore<TValue>(DataViewSchema.Column column)
        {
            if (column.Index < view._source.Schema.Count) return source.GetGetter<TValue>(view._source.Schema[column.Index]);
            var get = source.GetGetter<TIn>(view._input);
            TIn input = default!;
            ValueGetter<TOut> mapped = (ref TOut value) =>
            {
                get(ref input);
                value = view._map(input);
            };
            return (ValueGetter<TValue>)(Delegate)mapped;
        }

        protected override void Dispose(bool disposing) => source.Dispose();
    }
}
