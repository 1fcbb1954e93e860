namespace MLNetNormalization.Data;

/// <summary>The column a field or property maps to, when it differs from the member's name.</summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
public sealed class ColumnNameAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}
