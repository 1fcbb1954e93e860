namespace MLNetNormalization.Data;

/// <summary>
/// CreateEnumerable's sequence: each enumeration opens a cursor over the columns <typeparamref name="TRow"/>
/// maps and fills one object per row (the same object each time when <c>reuseRowObject</c>).
/// </summary>
internal sealed class DataViewRows<TRow> : IEnumerable<TRow> where TRow : class, new()
{
    private readonly IDataView _data;
    private readonly bool _reuseRowObject;
    private readonly (DataViewSchema.Column Column, RowMember Member)[] _bindings;

    public DataViewRows(IDataView data, bool reuseRowObject)
    {
        _data = data;
        _reuseRowObject = reuseRowObject;
        _bindings = RowMember.Of(typeof(TRow)).Select(member =>
        {
            var column = data.Schema.Require(member.ColumnName, $"CreateEnumerable<{typeof(TRow).Name}> ({typeof(TRow).Name}.{member.Member.Name})");
            if (column.Type.RawType != member.MemberType)
                throw new ArgumentOutOfRangeException(nameof(data),
                    $"CreateEnumerable<{typeof(TRow).Name}>: the column '{column.Name}' is {column.Type}, read as {column.Type.RawType.Name}, " +
                    $"but {typeof(TRow).Name}.{member.Member.Name} is a {member.MemberType.Name}; declare it as {column.Type.RawType.Name}.");
            return (column, member);
        }).ToArray();
    }

    public IEnumerator<TRow> GetEnumerator()
    {
        using var cursor = _data.GetRowCursor(_bindings.Select(b => b.Column));
        var copies = _bindings.Select(b => GenericCall.Invoke<Action<TRow>>(typeof(DataViewRows<TRow>), nameof(MakeCopy), b.Member.MemberType, null, cursor, b.Column, b.Member)).ToArray();
        TRow? row = null;
        while (cursor.MoveNext())
        {
            if (!_reuseRowObject || row is null) row = new TRow();
            foreach (var copy in copies) copy(row);
            yield return row;
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Copies one column into the member. Vectors go through the member's own array so a reused row reuses it.</summary>
    private static Action<TRow> MakeCopy<TValue>(DataViewRowCursor cursor, DataViewSchema.Column column, RowMember member)
    {
        var get = cursor.GetGetter<TValue>(column);
        var read = member.CompileGetter<TRow, TValue>();
        var write = member.CompileSetter<TRow, TValue>();
        return row =>
        {
            var value = read(row);
            get(ref value);
            write(row, value);
        };
    }
}
