namespace MLNetNormalization.Data;

/// <summary>
/// The rows of a source view whose entry in a membership table equals <c>keep</c> (TrainTestSplit's two halves).
/// The table is computed by one pass over the source when a cursor of either half first moves, then shared;
/// a cursor that finds the source longer or shorter than the table says the source changed.
/// </summary>
internal sealed class RowSubsetDataView(IDataView source, Lazy<bool[]> membership, bool keep) : IDataView
{
    private readonly Lazy<bool[]> _membership = membership;
    private readonly bool _keep = keep;

    public DataViewSchema Schema => source.Schema;

    public bool CanShuffle => false;

    /// <summary>Unknown until the membership table is computed, and asking should not compute it.</summary>
    public long? GetRowCount() => null;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.ToList();
        Schema.ToActiveFlags(needed); // only to check the columns are this view's, with an error naming them
        return new Cursor(this, source.GetRowCursor(needed));
    }

    private sealed class Cursor(RowSubsetDataView view, DataViewRowCursor rows) : DataViewRowCursor
    {
        private long _sourceRow = -1;

        public override DataViewSchema Schema => view.Schema;

        public override bool IsColumnActive(DataViewSchema.Column column) => rows.IsColumnActive(column);

        protected override bool MoveNextCore()
        {
            var table = view._membership.Value;
            while (rows.MoveNext())
            {
                _sourceRow++;
                if (_sourceRow >= table.Length)
                    throw new InvalidOperationException($"The data now has more than the {table.Length} rows it had when it was split; split it again.");
                if (table[_sourceRow] == view._keep) return true;
            }
            if (_sourceRow + 1 != table.Length)
                throw new InvalidOperationException($"The data now has {_sourceRow + 1} rows, not the {table.Length} it had when it was split; split it again.");
            return false;
        }

        protected override ValueGetter<TValue> GetGetterCore<TValue>(DataViewSchema.Column column) => rows.GetGetter<TValue>(column);

        protected override void Dispose(bool disposing) => rows.Dispose();
    }
}
