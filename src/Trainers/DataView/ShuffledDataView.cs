namespace MLNetNormalization.Data;

/// <summary>
/// The source's rows in a seeded uniform random order. ML.NET shuffles a stream through a bounded pool (nearly, not
/// fully, random); here each cursor reads its active columns of every row into memory in one pass, then returns the
/// rows in the order of a Fisher-Yates permutation drawn from the seed: the same order for every cursor and run.
/// Memory is the size of the active columns only.
/// </summary>
internal sealed class ShuffledDataView(IDataView source, int seed) : IDataView
{
    private readonly IDataView _source = source;
    private readonly int _seed = seed;

    public DataViewSchema Schema => _source.Schema;

    public bool CanShuffle => false;

    public long? GetRowCount() => _source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, Schema.ToActiveFlags(columnsNeeded));

    /// <summary>The values of one column, row by row.</summary>
    private abstract class Buffer
    {
        public abstract void Add();
    }

    private sealed class Buffer<TValue>(ValueGetter<TValue> get) : Buffer
    {
        public List<TValue> Values { get; } = [];

        public override void Add()
        {
            // A fresh variable per row, so a vector getter allocates a new array rather than reusing the last one.
            TValue value = default!;
            get(ref value);
            Values.Add(value);
        }
    }

    private sealed class Cursor(ShuffledDataView view, bool[] active) : DataViewRowCursor
    {
        private readonly Buffer?[] _buffers = new Buffer?[active.Length];
        private int[]? _order;
        private int _next = -1;

        public override DataViewSchema Schema => view.Schema;

        public override bool IsColumnActive(DataViewSchema.Column column) => active[column.Index];

        protected override bool MoveNextCore()
        {
            _order ??= ReadAll();
            return ++_next < _order.Length;
        }

        private int[] ReadAll()
        {
            var columns = Schema.Where(c => active[c.Index]).ToList();
            using var rows = view._source.GetRowCursor(columns);
            foreach (var column in columns)
                _buffers[column.Index] = GenericCall.Invoke<Buffer>(typeof(Cursor), nameof(MakeBuffer), column.Type.RawType, null, rows, column);
            var count = 0;
            while (rows.MoveNext())
            {
                foreach (var buffer in _buffers) buffer?.Add();
                count++;
            }
            var order = Enumerable.Range(0, count).ToArray();
            new Random(view._seed).Shuffle(order);
            return order;
        }

        private static Buffer MakeBuffer<TValue>(DataViewRowCursor rows, DataViewSchema.Column column) => new Buffer<TValue>(rows.GetGetter<TValue>(column));

        protected override ValueGetter<TValue> GetGetterCore<TValue>(DataViewSchema.Column column) =>
            (ref TValue value) =>
            {
                var stored = ((Buffer<TValue>)_buffers[column.Index]!).Values[_order![_next]];
                value = stored is Array array ? (TValue)array.Clone() : stored;
            };
    }
}
