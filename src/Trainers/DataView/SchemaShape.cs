using System.Collections;

namespace MLNetNormalization.Data;

/// <summary>
/// What an estimator knows of a schema before it is fitted: column names, kinds and item types, but not, say, how
/// many keys a column will have. Only visible columns are included.
/// </summary>
public sealed partial class SchemaShape : IReadOnlyList<SchemaShape.Column>
{
    private readonly Column[] _columns;

    public SchemaShape(IEnumerable<Column> columns) => _columns = columns.ToArray();

    public int Count => _columns.Length;

    public Column this[int index] => _columns[index];

    /// <summary>The shape of a schema's visible columns, with the shapes of their annotations.</summary>
    public static SchemaShape Create(DataViewSchema schema) =>
        new(schema.Where(c => !c.IsHidden).Select(c => Column.Of(c.Name, c.Type, new SchemaShape(c.Annotations.Kinds.Select(
            kind => Column.Of(kind, c.Annotations.TypeOf(kind), new SchemaShape([])))))));

    public bool TryFindColumn(string name, out Column column)
    {
        column = _columns.LastOrDefault(c => c.Name == name);
        return column.Name is not null;
    }

    /// <summary>The column <paramref name="name"/>, or an error naming it, the <paramref name="role"/> that needs it and the columns there are.</summary>
    internal Column Require(string name, string role) => TryFindColumn(name, out var column)
        ? column
        : throw new ArgumentOutOfRangeException(nameof(name),
            $"{role}: the column '{name}' was not found. The data has the columns: {string.Join(", ", _columns.Select(c => c.ToString()))}.");

    public IEnumerator<Column> GetEnumerator() => ((IEnumerable<Column>)_columns).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
