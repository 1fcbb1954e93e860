namespace MLNetNormalization.Data;

/// <summary>
/// Key columns: categorical values coded as <see cref="uint"/>, as ML.NET codes them: 0 is the missing key and
/// 1..<see cref="Count"/> are the categories. The category each key stands for is usually in the column's
/// <see cref="AnnotationKinds.KeyValues"/> annotation (entry key - 1). ML.NET also allows byte, ushort and ulong
/// keys; this library only uses uint.
/// </summary>
public sealed class KeyDataViewType : PrimitiveDataViewType
{
    public KeyDataViewType(ulong count) : base(typeof(uint))
    {
        if (count == 0 || count > uint.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"A key type needs between 1 and {uint.MaxValue} categories.");
        Count = count;
    }

    /// <summary>The number of categories: valid keys are 1..Count.</summary>
    public ulong Count { get; }

    public override bool Equals(DataViewType? other) => other is KeyDataViewType key && key.Count == Count;

    public override int GetHashCode() => HashCode.Combine(RawType, Count);

    public override string ToString() => $"Key<UInt32, 0-{Count - 1}>";
}
