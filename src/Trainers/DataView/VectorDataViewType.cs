using System.Collections.Immutable;

namespace MLNetNormalization.Data;

/// <summary>
/// Vector columns: values are arrays of <see cref="ItemType"/>'s raw type (ML.NET uses VBuffer, which can also be
/// sparse; this library's vectors are always dense <c>T[]</c>, row-major over <see cref="Dimensions"/>).
/// No dimensions, or a 0 among them, means the length varies from row to row.
/// </summary>
public sealed class VectorDataViewType : DataViewType
{
    public VectorDataViewType(PrimitiveDataViewType itemType, params int[] dimensions)
        : base(itemType.RawType.MakeArrayType())
    {
        if (itemType is KeyDataViewType)
            throw new ArgumentException("Vectors of keys are not supported; use a vector of UInt32 numbers.", nameof(itemType));
        if (Array.Exists(dimensions, d => d < 0))
            throw new ArgumentOutOfRangeException(nameof(dimensions), $"Vector dimensions must be positive (0 for unknown), got [{string.Join(", ", dimensions)}].");
        ItemType = itemType;
        Dimensions = [.. dimensions];
        Size = dimensions.Length == 0 ? 0 : dimensions.Aggregate(1, (size, d) => checked(size * d));
    }

    public PrimitiveDataViewType ItemType { get; }

    public ImmutableArray<int> Dimensions { get; }

    /// <summary>The number of items, or 0 when the length varies.</summary>
    public int Size { get; }

    public bool IsKnownSize => Size > 0;

    public override bool Equals(DataViewType? other) =>
        other is VectorDataViewType vector && vector.ItemType.Equals(ItemType) && vector.Dimensions.SequenceEqual(Dimensions);

    public override int GetHashCode() => HashCode.Combine(ItemType, Size);

    public override string ToString() =>
        Dimensions.Length == 0 ? $"Vector<{ItemType}>" : $"Vector<{ItemType}, {string.Join(", ", Dimensions)}>";
}
