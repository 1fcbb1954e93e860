namespace MLNetNormalization.Data;

/// <summary>The context's <c>Transforms</c> catalog: estimators grouped by kind.</summary>
public sealed class TransformsCatalog
{
    internal TransformsCatalog()
    {
    }

    /// <summary>Type and key conversions (MapValueToKey, MapKeyToValue).</summary>
    public ConversionTransformsCatalog Conversion { get; } = new();
}
