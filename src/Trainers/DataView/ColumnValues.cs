namespace MLNetNormalization.Data;

/// <summary>Reads a whole column in one pass, as boxed scalars (for grouping rows by value) or typed lists.</summary>
internal static class ColumnValues
{
    /// <summary>
    /// Every value of scalar column <paramref name="column"/>, in row order, boxed so rows can be grouped by value
    /// with <see cref="object.Equals(object)"/>; <paramref name="role"/> names the use in the error for vectors.
    /// </summary>
    public static List<object> ReadScalars(IDataView data, DataViewSchema.Column column, string role)
    {
        if (column.Type is not PrimitiveDataViewType)
            throw new ArgumentOutOfRangeException(nameof(column), $"{role}: the column '{column.Name}' is {column.Type}; only scalar columns (numbers, text, booleans, keys) can group rows.");
        return GenericCall.Invoke<List<object>>(typeof(ColumnValues), nameof(ReadBoxed), column.Type.RawType, null, data, column);
    }

    /// <summary>The number of rows, counted by moving a cursor that reads no column.</summary>
    public static int CountRows(IDataView data)
    {
        using var cursor = data.GetRowCursor([]);
        var count = 0;
        while (cursor.MoveNext()) count = checked(count + 1);
        return count;
    }

    private static List<object> ReadBoxed<TValue>(IDataView data, DataViewSchema.Column column)
    {
        var values = new List<object>();
        using var cursor = data.GetRowCursor([column]);
        var get = cursor.GetGetter<TValue>(column);
        TValue value = default!;
        while (cursor.MoveNext())
        {
            get(ref value);
            values.Add(value!);
        }
        return values;
    }
}
