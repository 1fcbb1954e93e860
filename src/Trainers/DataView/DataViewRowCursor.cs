namespace MLNetNormalization.Data;

/// <summary>
/// Moves forward over a view's rows, one at a time; getters read the current row's values. This base class keeps
/// the checks every cursor needs (active columns, getter types, reading only while on a row) so implementations
/// only move and read.
/// </summary>
public abstract class DataViewRowCursor : IDisposable
{
    private bool _ended;
    private bool _disposed;

    public abstract DataViewSchema Schema { get; }

    /// <summary>The index of the current row among the rows this cursor returns; -1 before the first MoveNext.</summary>
    public long Position { get; private set; } = -1;

    /// <summary>Advances to the next row; false once there are no more (and from then on).</summary>
    public bool MoveNext()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_ended) return false;
        if (MoveNextCore())
        {
            Position++;
            return true;
        }
        _ended = true;
        return false;
    }

    /// <summary>Whether the cursor was created to read <paramref name="column"/>.</summary>
    public abstract bool IsColumnActive(DataViewSchema.Column column);

    /// <summary>
    /// A getter of <paramref name="column"/>'s value on the current row. <typeparamref name="TValue"/> must be the
    /// column type's <see cref="DataViewType.RawType"/>; the errors name the column.
    /// </summary>
    public ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        Schema.CheckOwnColumn(column);
        if (!IsColumnActive(column))
            throw new InvalidOperationException(
                $"The cursor cannot read column '{column.Name}': it was not among the columns needed when the cursor was created.");
        if (typeof(TValue) != column.Type.RawType)
            throw new InvalidOperationException(
                $"The column '{column.Name}' is {column.Type}, read as {column.Type.RawType.Name}, but a getter of {typeof(TValue).Name} was requested.");
        var getter = GetGetterCore<TValue>(column);
        return (ref TValue value) =>
        {
            if (Position < 0 || _ended || _disposed)
                throw new InvalidOperationException($"Column '{column.Name}' was read while the cursor was not on a row; call MoveNext first and stop once it returns false.");
            getter(ref value);
        };
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Moves the source to its next row; false at the end.</summary>
    protected abstract bool MoveNextCore();

    /// <summary>The getter for an active column of this schema whose raw type is <typeparamref name="TValue"/> (checked by the caller).</summary>
    protected abstract ValueGetter<TValue> GetGetterCore<TValue>(DataViewSchema.Column column);

    /// <summary>Releases files and source cursors.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }
}
