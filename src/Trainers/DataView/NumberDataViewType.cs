namespace MLNetNormalization.Data;

/// <summary>Numeric column types. There is one instance per .NET numeric type, so they compare by reference.</summary>
public sealed class NumberDataViewType : PrimitiveDataViewType
{
    private NumberDataViewType(Type rawType) : base(rawType)
    {
    }

    public static NumberDataViewType Single { get; } = new(typeof(float));
    public static NumberDataViewType Double { get; } = new(typeof(double));
    public static NumberDataViewType Byte { get; } = new(typeof(byte));
    public static NumberDataViewType Int32 { get; } = new(typeof(int));
    public static NumberDataViewType Int64 { get; } = new(typeof(long));
    public static NumberDataViewType UInt32 { get; } = new(typeof(uint));

    public override bool Equals(DataViewType? other) => ReferenceEquals(this, other);

    public override bool Equals(object? obj) => ReferenceEquals(this, obj);

    public override int GetHashCode() => RawType.GetHashCode();

    public override string ToString() => RawType.Name;
}
