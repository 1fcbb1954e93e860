namespace MLNetNormalization.Data;

/// <summary>The context's <c>Transforms.Conversion</c> catalog.</summary>
public sealed class ConversionTransformsCatalog
{
    internal ConversionTransformsCatalog()
    {
    }

    /// <summary>
    /// Codes the values of <paramref name="inputColumnName"/> (default: the output's name) as keys 1..K in a new
    /// key column <paramref name="outputColumnName"/>, in order of first occurrence or of value; values not seen by
    /// Fit (and NaN) become key 0, missing. The column's KeyValues annotation holds the K values.
    /// </summary>
    public ValueToKeyMappingEstimator MapValueToKey(string outputColumnName, string? inputColumnName = null,
        int maximumNumberOfKeys = ValueToKeyMappingEstimator.DefaultMaximumNumberOfKeys,
        ValueToKeyMappingEstimator.KeyOrdinality keyOrdinality = ValueToKeyMappingEstimator.KeyOrdinality.ByOccurrence) =>
        new(outputColumnName, inputColumnName ?? outputColumnName, maximumNumberOfKeys, keyOrdinality);

    /// <summary>
    /// Turns the key column <paramref name="inputColumnName"/> (default: the output's name) back into the values
    /// of its KeyValues annotation; key 0 (missing) becomes NaN for Single/Double, "" for text, else the type's default.
    /// </summary>
    public KeyToValueMappingEstimator MapKeyToValue(string outputColumnName, string? inputColumnName = null) =>
        new(outputColumnName, inputColumnName ?? outputColumnName);
}
