using System.Text.Json;
using MLNetNormalization.Model;

namespace MLNetNormalization.Data;

/// <summary>Adds a key column coding another column's values with the dictionary its estimator learned.</summary>
public sealed class ValueToKeyMappingTransformer : ITransformer, ISavableTransformer
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

    internal const string SavedKindName = "ValueToKeyMapping";

    private const string MapEntry = "map.json";

    /// <summary>The saved form: the two column names, the values' type and the values in key order.</summary>
    private sealed record MapJson(string OutputColumnName, string InputColumnName, DataViewTypeJson ItemType, JsonElement Values);

    string ISavableTransformer.KindName => SavedKindName;

    void ISavableTransformer.Save(ModelWriter writer)
    {
        var values = _dictionary.Values;
        writer.WriteJson(MapEntry, new MapJson(_outputColumnName, _inputColumnName,
            DataViewTypeJson.From(_dictionary.ItemType, $"MapValueToKey's column '{_inputColumnName}'"),
            JsonSerializer.SerializeToElement(values, values.GetType(), ModelJson.Options)));
    }

    internal static ValueToKeyMappingTransformer Load(ModelReader reader)
    {
        var map = reader.ReadJson<MapJson>(MapEntry);
        var type = map.ItemType.ToType(reader.DamagedEntry(MapEntry));
        if (type is not (NumberDataViewType or TextDataViewType or BooleanDataViewType))
            throw reader.Damaged(MapEntry, $"values of type {type}, which MapValueToKey never codes");
        var itemType = (PrimitiveDataViewType)type;
        try
        {
            var values = (Array?)map.Values.Deserialize(itemType.RawType.MakeArrayType(), ModelJson.Options)
                ?? throw reader.Damaged(MapEntry, "no values");
            return new ValueToKeyMappingTransformer(map.OutputColumnName, map.InputColumnName, KeyValueDictionary.FromValues(itemType, values));
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw reader.Damaged(MapEntry, $"a key map this build cannot use ({e.Message})");
        }
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
