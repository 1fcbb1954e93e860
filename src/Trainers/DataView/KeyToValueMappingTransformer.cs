using MLNetNormalization.Model;

namespace MLNetNormalization.Data;

/// <summary>
/// Adds a column with the value each key of a key column stands for, read from that column's KeyValues
/// annotation in the input being transformed. Key 0 (missing) and keys beyond the values become the missing
/// value: NaN for Single/Double, "" for text, the type's default otherwise.
/// </summary>
public sealed class KeyToValueMappingTransformer : ITransformer, ISavableTransformer
{
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;

    internal KeyToValueMappingTransformer(string outputColumnName, string inputColumnName)
    {
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName;
    }

    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var (_, itemType) = CheckInput(inputSchema);
        return new DataViewSchema.Builder().AddColumns(inputSchema).AddColumn(_outputColumnName, itemType).ToSchema();
    }

    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (column, itemType) = CheckInput(input.Schema);
        return GenericCall.Invoke<IDataView>(typeof(KeyToValueMappingTransformer), nameof(Map), itemType.RawType, this, input, column, itemType);
    }

    internal const string SavedKindName = "KeyToValueMapping";

    private const string ColumnsEntry = "columns.json";

    /// <summary>The saved form: only the column names, since the values come from the input's KeyValues annotation.</summary>
    private sealed record ColumnsJson(string OutputColumnName, string InputColumnName);

    string ISavableTransformer.KindName => SavedKindName;

    void ISavableTransformer.Save(ModelWriter writer) => writer.WriteJson(ColumnsEntry, new ColumnsJson(_outputColumnName, _inputColumnName));

    internal static KeyToValueMappingTransformer Load(ModelReader reader)
    {
        var columns = reader.ReadJson<ColumnsJson>(ColumnsEntry);
        return new KeyToValueMappingTransformer(columns.OutputColumnName, columns.InputColumnName);
    }

    private IDataView Map<TValue>(IDataView input, DataViewSchema.Column column, PrimitiveDataViewType itemType)
    {
        TValue[] values = [];
        column.GetKeyValues(ref values);
        var missing = (TValue)(object)(typeof(TValue) == typeof(float) ? float.NaN
            : typeof(TValue) == typeof(double) ? double.NaN
            : typeof(TValue) == typeof(string) ? "" : default(TValue)!);
        return new MappedColumnDataView<uint, TValue>(input, column, _outputColumnName, itemType, DataViewSchema.Annotations.Empty,
            key => key >= 1 && key <= values.Length ? values[key - 1] : missing);
    }

    private (DataViewSchema.Column Column, PrimitiveDataViewType ItemType) CheckInput(DataViewSchema schema)
    {
        var column = schema.Require(_inputColumnName, "MapKeyToValue");
        if (column.Type is not KeyDataViewType)
            throw new ArgumentOutOfRangeException(nameof(schema),
                $"MapKeyToValue: the column '{column.Name}' is {column.Type}, not a key column; make one with MapValueToKey.");
        if (!column.HasKeyValues() || column.Annotations.TypeOf(AnnotationKinds.KeyValues) is not VectorDataViewType { ItemType: var itemType })
            throw new ArgumentOutOfRangeException(nameof(schema),
                $"MapKeyToValue: the key column '{column.Name}' has no {AnnotationKinds.KeyValues} annotation (a vector of values) to map its keys to.");
        return (column, itemType);
    }
}
