namespace MLNetNormalization.Data;

/// <summary>
/// The type of a data view column: which values it holds and which .NET type (<see cref="RawType"/>) a
/// <see cref="ValueGetter{TValue}"/> for it reads.
/// </summary>
public abstract class DataViewType : IEquatable<DataViewType>
{
    private protected DataViewType(Type rawType) => RawType = rawType;

    /// <summary>The .NET type of the column's values, the type argument <see cref="DataViewRowCursor.GetGetter{TValue}"/> needs.</summary>
    public Type RawType { get; }

    public abstract bool Equals(DataViewType? other);

    public override bool Equals(object? obj) => obj is DataViewType other && Equals(other);

    public override int GetHashCode() => RawType.GetHashCode();
}
