using System.Collections;

namespace MLNetNormalization.Data;

/// <summary>
/// The columns of a data view, in order. When a transform adds a column under a name that already exists, the
/// earlier column stays (so a cursor can still read it) but becomes hidden: looking a name up finds the last
/// column with that name, as in ML.NET.
/// </summary>
public sealed partial class DataViewSchema : IReadOnlyList<DataViewSchema.Column>
{
    private readonly Column[] _columns;
    private readonly Dictionary<string, int> _byName = new(StringComparer.Ordinal);

    private DataViewSchema(IReadOnlyList<(string Name, DataViewType Type, Annotations Annotations)> columns)
    {
        _columns = new Column[columns.Count];
        for (var i = columns.Count - 1; i >= 0; i--)
        {
            var (name, type, annotations) = columns[i];
            var hidden = !_byName.TryAdd(name, i);
            _columns[i] = new Column(name, i, hidden, type, annotations);
        }
    }

    public int Count => _columns.Length;

    public Column this[int columnIndex] => _columns[columnIndex];

    /// <summary>The visible column named <paramref name="name"/>; the error lists the columns there are.</summary>
    public Column this[string name] => GetColumnOrNull(name) ?? throw new ArgumentOutOfRangeException(
        nameof(name), $"There is no column named '{name}'. {DescribeColumns()}");

    public Column? GetColumnOrNull(string name) => _byName.TryGetValue(name, out var index) ? _columns[index] : null;

    public IEnumerator<Column> GetEnumerator() => ((IEnumerable<Column>)_columns).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => DescribeColumns();

    /// <summary>"The data has the columns: A (Single), B (String)." for error messages.</summary>
    internal string DescribeColumns() =>
        Count == 0
            ? "The data has no columns."
            : $"The data has the columns: {string.Join(", ", _columns.Where(c => !c.IsHidden).Select(c => $"{c.Name} ({c.Type})"))}.";

    /// <summary>The visible column <paramref name="name"/>, or an error saying which <paramref name="role"/> needed it.</summary>
    internal Column Require(string name, string role) => GetColumnOrNull(name) ?? throw new ArgumentOutOfRangeException(
        nameof(name), $"{role}: the column '{name}' was not found. {DescribeColumns()}");

    /// <summary>
    /// Which columns a cursor reads, by index. The columns must be this schema's (same index, name and type); a
    /// column of another view's schema is an error naming it, since reading by index would read something else.
    /// </summary>
    internal bool[] ToActiveFlags(IEnumerable<Column> columnsNeeded)
    {
        ArgumentNullException.ThrowIfNull(columnsNeeded);
        var active = new bool[Count];
        foreach (var column in columnsNeeded)
        {
            CheckOwnColumn(column);
            active[column.Index] = true;
        }
        return active;
    }

    internal void CheckOwnColumn(Column column)
    {
        if (column.Index < 0 || column.Index >= Count || _columns[column.Index].Name != column.Name || !_columns[column.Index].Type.Equals(column.Type))
            throw new ArgumentOutOfRangeException(nameof(column),
                $"The column '{column.Name}' (index {column.Index}, {column.Type}) is not a column of this view; look columns up in the view's own Schema. {DescribeColumns()}");
    }
}
