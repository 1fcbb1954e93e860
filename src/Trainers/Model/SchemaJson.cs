using System.Text.Json;
using MLNetNormalization.Data;

namespace MLNetNormalization.Model;

/// <summary>
/// A column type as JSON: <see cref="Kind"/> is Single, Double, Byte, Int32, Int64, UInt32, String, Boolean, Key
/// (with <see cref="KeyCount"/>) or Vector (with <see cref="Item"/> and <see cref="Dimensions"/>).
/// </summary>
internal sealed record DataViewTypeJson(string Kind, ulong? KeyCount = null, DataViewTypeJson? Item = null, int[]? Dimensions = null)
{
    private static readonly Dictionary<string, PrimitiveDataViewType> Primitives = new(StringComparer.Ordinal)
    {
        ["Single"] = NumberDataViewType.Single,
        ["Double"] = NumberDataViewType.Double,
        ["Byte"] = NumberDataViewType.Byte,
        ["Int32"] = NumberDataViewType.Int32,
        ["Int64"] = NumberDataViewType.Int64,
        ["UInt32"] = NumberDataViewType.UInt32,
        ["String"] = TextDataViewType.Instance,
        ["Boolean"] = BooleanDataViewType.Instance,
    };

    /// <summary>The JSON form of <paramref name="type"/>; <paramref name="owner"/> (e.g. "the column 'Label'") names it in the error for a type model files cannot hold.</summary>
    public static DataViewTypeJson From(DataViewType type, string owner) => type switch
    {
        KeyDataViewType key => new("Key", KeyCount: key.Count),
        VectorDataViewType vector => new("Vector", Item: From(vector.ItemType, owner), Dimensions: [.. vector.Dimensions]),
        PrimitiveDataViewType primitive when Primitives.FirstOrDefault(p => p.Value.Equals(primitive)).Key is { } name => new(name),
        _ => throw new NotSupportedException(
            $"{owner} is of type {type} ({type.GetType().Name}), which model files cannot store; " +
            $"they store {string.Join(", ", Primitives.Keys)}, Key and Vector types. Save the schema without that column."),
    };

    /// <summary>
    /// The type this JSON describes; errors start with <paramref name="damaged"/>, which says where the JSON was
    /// (e.g. "model.zip is damaged: its schema.json").
    /// </summary>
    public DataViewType ToType(string damaged)
    {
        try
        {
            return Kind switch
            {
                "Key" => new KeyDataViewType(KeyCount ?? throw Invalid(damaged, "a Key type without its count")),
                "Vector" => new VectorDataViewType(
                    Item?.ToType(damaged) as PrimitiveDataViewType ?? throw Invalid(damaged, "a Vector type without a primitive item type"),
                    Dimensions ?? throw Invalid(damaged, "a Vector type without its dimensions")),
                _ => Primitives.TryGetValue(Kind, out var primitive) ? primitive : throw Invalid(damaged, $"the unknown type '{Kind}'"),
            };
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{damaged} holds an impossible {Kind} type ({e.Message}).", e);
        }
    }

    private static InvalidDataException Invalid(string damaged, string what) => new($"{damaged} holds {what}.");
}

/// <summary>The input schema of a model file: each column's name, type and annotations (kind, type, value), in order.</summary>
internal sealed record SchemaJson(SchemaJson.Column[] Columns)
{
    public sealed record Annotation(string Kind, DataViewTypeJson Type, JsonElement Value);

    public sealed record Column(string Name, DataViewTypeJson Type, Annotation[] Annotations);

    /// <summary>
    /// Every column, hidden ones included: the schema is rebuilt by adding the columns in order, which hides the same
    /// ones again, so column indices stay those of the data the model was trained on.
    /// </summary>
    public static SchemaJson From(DataViewSchema schema) => new([.. schema.Select(column => new Column(
        column.Name,
        DataViewTypeJson.From(column.Type, $"The column '{column.Name}'"),
        FromAnnotations(column.Annotations, $"the column '{column.Name}'")))]);

    /// <summary>Annotations as JSON (also what a transformer saves for the annotations of a column it adds); <paramref name="owner"/> names their column in errors.</summary>
    public static Annotation[] FromAnnotations(DataViewSchema.Annotations annotations, string owner) =>
        [.. annotations.Entries.Select(a => new Annotation(
            a.Kind,
            DataViewTypeJson.From(a.Type, $"The annotation '{a.Kind}' of {owner}"),
            JsonSerializer.SerializeToElement(a.Value, a.Type.RawType, ModelJson.Options)))];

    /// <summary>
    /// The annotations <see cref="FromAnnotations"/> wrote; errors start with <paramref name="damaged"/>. A value that
    /// is not JSON of its type is a <see cref="JsonException"/> or <see cref="ArgumentException"/> for the caller to report.
    /// </summary>
    public static DataViewSchema.Annotations ToAnnotations(Annotation[] annotations, string damaged, string owner) =>
        DataViewSchema.Annotations.FromEntries(annotations.Select(a =>
        {
            var type = a.Type.ToType(damaged);
            var value = a.Value.Deserialize(type.RawType, ModelJson.Options)
                ?? throw new InvalidDataException($"{damaged} gives the annotation '{a.Kind}' of {owner} no value.");
            return (a.Kind, type, value);
        }));

    public static DataViewSchema Read(byte[] bytes, string source)
    {
        var damaged = $"{source} is damaged: its {ModelArchive.SchemaEntry}";
        try
        {
            var json = JsonSerializer.Deserialize<SchemaJson>(bytes, ModelJson.Options)!;
            var builder = new DataViewSchema.Builder();
            foreach (var column in json.Columns)
            {
                var annotations = ToAnnotations(column.Annotations, damaged, $"the column '{column.Name}'");
                builder.AddColumn(column.Name, column.Type.ToType(damaged), annotations);
            }
            return builder.ToSchema();
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidDataException($"{damaged} is not a schema ({e.Message}).", e);
        }
    }
}
