namespace MLNetNormalization.Data;

/// <summary>Turns a key column back into the values it stands for (made by <c>Transforms.Conversion.MapKeyToValue</c>); there is nothing to learn.</summary>
public sealed class KeyToValueMappingEstimator : IEstimator<KeyToValueMappingTransformer>
{
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;

    internal KeyToValueMappingEstimator(string outputColumnName, string inputColumnName)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName;
    }

    /// <summary>Checks the input column is a key column with values; the error names it.</summary>
    public KeyToValueMappingTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var transformer = new KeyToValueMappingTransformer(_outputColumnName, _inputColumnName);
        transformer.GetOutputSchema(input.Schema);
        return transformer;
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var input = inputSchema.Require(_inputColumnName, "MapKeyToValue");
        if (!input.IsKey)
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"MapKeyToValue: the column '{input.Name}' is {input}, not a key column; make one with MapValueToKey.");
        if (!input.Annotations.TryFindColumn(AnnotationKinds.KeyValues, out var keyValues))
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"MapKeyToValue: the key column '{input.Name}' has no {AnnotationKinds.KeyValues} annotation to map its keys to.");
        var output = new SchemaShape.Column(_outputColumnName, SchemaShape.Column.VectorKind.Scalar, keyValues.ItemType, isKey: false);
        return new SchemaShape([.. inputSchema.Where(c => c.Name != _outputColumnName), output]);
    }
}
