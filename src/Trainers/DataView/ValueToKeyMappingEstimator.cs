namespace MLNetNormalization.Data;

/// <summary>Learns which values a column holds and codes them as keys (made by <c>Transforms.Conversion.MapValueToKey</c>).</summary>
public sealed class ValueToKeyMappingEstimator : IEstimator<ValueToKeyMappingTransformer>
{
    public const int DefaultMaximumNumberOfKeys = 1_000_000;

    private readonly string _outputColumnName;
    private readonly string _inputColumnName;
    private readonly int _maximumNumberOfKeys;
    private readonly KeyOrdinality _keyOrdinality;

    internal ValueToKeyMappingEstimator(string outputColumnName, string inputColumnName, int maximumNumberOfKeys, KeyOrdinality keyOrdinality)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maximumNumberOfKeys);
        if (!Enum.IsDefined(keyOrdinality))
            throw new ArgumentOutOfRangeException(nameof(keyOrdinality), keyOrdinality, "Use KeyOrdinality.ByOccurrence or KeyOrdinality.ByValue.");
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName;
        _maximumNumberOfKeys = maximumNumberOfKeys;
        _keyOrdinality = keyOrdinality;
    }

    /// <summary>Which value gets key 1, 2, ...</summary>
    public enum KeyOrdinality
    {
        /// <summary>In the order the values first appear in the data.</summary>
        ByOccurrence,

        /// <summary>In ascending order of value (ordinal for text).</summary>
        ByValue,
    }

    /// <summary>Reads the input column once and keeps its distinct values (NaN excepted).</summary>
    public ValueToKeyMappingTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var column = input.Schema.Require(_inputColumnName, "MapValueToKey");
        if (column.Type is not (NumberDataViewType or TextDataViewType or BooleanDataViewType))
            throw new ArgumentOutOfRangeException(nameof(input),
                $"MapValueToKey: the column '{column.Name}' is {column.Type}; it can code scalar numbers, text and booleans only.");
        return new ValueToKeyMappingTransformer(_outputColumnName, _inputColumnName,
            KeyValueDictionary.Build(input, column, _maximumNumberOfKeys, _keyOrdinality));
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var input = inputSchema.Require(_inputColumnName, "MapValueToKey");
        if (input.Kind != SchemaShape.Column.VectorKind.Scalar || input.IsKey ||
            input.ItemType is not (NumberDataViewType or TextDataViewType or BooleanDataViewType))
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"MapValueToKey: the column '{input.Name}' is {input}; it can code scalar numbers, text and booleans only.");
        var keyValues = new SchemaShape.Column(AnnotationKinds.KeyValues, SchemaShape.Column.VectorKind.Vector, input.ItemType, isKey: false);
        var output = new SchemaShape.Column(_outputColumnName, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.UInt32, isKey: true,
            new SchemaShape([keyValues]));
        return new SchemaShape([.. inputSchema.Where(c => c.Name != _outputColumnName), output]);
    }
}
