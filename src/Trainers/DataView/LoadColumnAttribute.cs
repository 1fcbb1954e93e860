namespace MLNetNormalization.Data;

/// <summary>For LoadFromTextFile: the 0-based field of each line that a field or property is read from.</summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
public sealed class LoadColumnAttribute : Attribute
{
    public LoadColumnAttribute(int fieldIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fieldIndex);
        FieldIndex = fieldIndex;
    }

    public int FieldIndex { get; }
}
