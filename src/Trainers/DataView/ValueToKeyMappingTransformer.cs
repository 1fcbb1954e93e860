namespace MLNetNormalization.Data;

/// <summary>Adds a key column coding another column's values with the dictionary its estimator learned.</summary>
public sealed class ValueToKeyMappingTransformer : ITransformer
{
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;
    private readonly KeyValueDictionary _dictionary;

    internal ValueToKeyMappingTransformer(string outputColumnName, string inputColumnName, KeyValueDictionary dictionary)
    {
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName;
        _dictionary = dictionary;
    }

    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInput(inputSchema);
        return new DataViewSchema.Builder().AddColumns(inputSchema)
            .AddColumn(_outputColumnName, _dictionary.KeyType, _dictionary.Annotations).ToSchema();
    }

    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return _dictionary.Apply(input, CheckInput(input.Schema), _outputColumnName);
    }

    private DataViewSchema.Column CheckInput(DataViewSchema schema)
    {
        var column = schema.Require(_inputColumnName, "MapValueToKey");
        if (!column.Type.Equals(_dictionary.ItemType))
            throw new ArgumentOutOfRangeException(nameof(schema),
                $"MapValueToKey: the column '{column.Name}' is {column.Type}, but the keys were learned from {_dictionary.ItemType} values.");
        return column;
    }
}
