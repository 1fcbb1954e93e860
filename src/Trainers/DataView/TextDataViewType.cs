namespace MLNetNormalization.Data;

/// <summary>
/// Text columns. Values are <see cref="string"/> (ML.NET uses ReadOnlyMemory&lt;char&gt; to slice lines without
/// copying; this library keeps the simpler string). A missing text value is the empty string, never null.
/// </summary>
public sealed class TextDataViewType : PrimitiveDataViewType
{
    private TextDataViewType() : base(typeof(string))
    {
    }

    public static TextDataViewType Instance { get; } = new();

    public override bool Equals(DataViewType? other) => ReferenceEquals(this, other);

    public override bool Equals(object? obj) => ReferenceEquals(this, obj);

    public override int GetHashCode() => RawType.GetHashCode();

    public override string ToString() => "String";
}
