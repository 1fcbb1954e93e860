namespace MLNetNormalization.Data;

/// <summary>
/// A lazy table: a schema of named, typed columns and rows read through cursors. Creating a view reads no rows;
/// each cursor reads its source afresh, in order, as it moves.
/// </summary>
public interface IDataView
{
    DataViewSchema Schema { get; }

    /// <summary>The number of rows when it is known without reading them, else null.</summary>
    long? GetRowCount();

    /// <summary>
    /// Whether a cursor can return rows in a random order when given <c>rand</c>. No view of this library can
    /// (they stream), so they all ignore <c>rand</c>; use <c>Data.ShuffleRows</c> to shuffle.
    /// </summary>
    bool CanShuffle { get; }

    /// <summary>A cursor over the rows that can read the <paramref name="columnsNeeded"/> (and only those).</summary>
    DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null);
}
