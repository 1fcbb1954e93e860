using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetNormalization;

/// <summary>
/// The training label's classes: how many keys it has and the value each key stands for (its KeyValues annotation, as
/// MapValueToKey made it), carried to the model's PredictedLabel so MapKeyToValue gives back the original values.
/// Values of type text, Boolean or any ML.NET number keep their type through a saved model; other types are kept as
/// their text.
/// </summary>
internal sealed class LabelKeyValues
{
    // Names of the item types a saved model can restore, as they are written into the model.
    private static readonly Dictionary<string, PrimitiveDataViewType> SavableTypes = new()
    {
        ["Text"] = TextDataViewType.Instance, ["Boolean"] = BooleanDataViewType.Instance,
        ["Single"] = NumberDataViewType.Single, ["Double"] = NumberDataViewType.Double,
        ["SByte"] = NumberDataViewType.SByte, ["Byte"] = NumberDataViewType.Byte,
        ["Int16"] = NumberDataViewType.Int16, ["UInt16"] = NumberDataViewType.UInt16,
        ["Int32"] = NumberDataViewType.Int32, ["UInt32"] = NumberDataViewType.UInt32,
        ["Int64"] = NumberDataViewType.Int64, ["UInt64"] = NumberDataViewType.UInt64,
    };

    private LabelKeyValues(int count, string[] names, PrimitiveDataViewType? itemType)
    {
        Count = count;
        Names = names;
        ItemType = itemType;
    }

    /// <summary>K, the number of keys.</summary>
    public int Count { get; }

    /// <summary>The value of key k (entry k - 1) as text (invariant culture); "1".."K" when the label had no KeyValues.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The KeyValues item type; null when the label had none.</summary>
    public PrimitiveDataViewType? ItemType { get; }

    /// <summary>The classes of a key label column: its key count and, when present, its KeyValues.</summary>
    public static LabelKeyValues From(DataViewSchema.Column label, int count)
    {
        var annotation = label.Annotations.Schema.GetColumnOrNull(AnnotationUtils.Kinds.KeyValues);
        if (annotation is not { Type: VectorDataViewType { ItemType: PrimitiveDataViewType itemType, Size: var size } } || size != count)
            return new LabelKeyValues(count, [.. Enumerable.Range(1, count).Select(k => k.ToString(CultureInfo.InvariantCulture))], null);
        var names = (string[])typeof(LabelKeyValues).GetMethod(nameof(ReadNames), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(itemType.RawType).Invoke(null, [label.Annotations])!;
        var keptType = SavableTypes.ContainsValue(itemType) ? itemType : TextDataViewType.Instance;
        return new LabelKeyValues(count, names, keptType);
    }

    private static string[] ReadNames<T>(DataViewSchema.Annotations annotations)
    {
        VBuffer<T> values = default;
        annotations.GetValue(AnnotationUtils.Kinds.KeyValues, ref values);
        return [.. values.DenseValues().Select(v => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "")];
    }

    /// <summary>Adds the values as annotation <paramref name="kind"/> (KeyValues, TrainingLabelValues) of their own type; nothing when there are none.</summary>
    public void AddTo(DataViewSchema.Annotations.Builder builder, string kind)
    {
        if (ItemType is null) return;
        typeof(LabelKeyValues).GetMethod(nameof(AddTyped), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
            .MakeGenericMethod(ItemType.RawType).Invoke(this, [builder, kind]);
    }

    private void AddTyped<T>(DataViewSchema.Annotations.Builder builder, string kind)
    {
        var values = Names.Select(Parse<T>).ToArray();
        builder.Add(kind, new VectorDataViewType(ItemType!, Count), (ref VBuffer<T> value) => value = new VBuffer<T>(values.Length, values));
    }

    private static T Parse<T>(string text) => typeof(T) == typeof(ReadOnlyMemory<char>)
        ? (T)(object)text.AsMemory()
        : (T)Convert.ChangeType(text, typeof(T), CultureInfo.InvariantCulture);

    /// <summary>The class names as text, as SlotNames annotations hold them.</summary>
    public void AddSlotNames(DataViewSchema.Annotations.Builder builder)
    {
        var names = Names.Select(n => n.AsMemory()).ToArray();
        builder.Add(AnnotationUtils.Kinds.SlotNames, new VectorDataViewType(TextDataViewType.Instance, Count),
            (ref VBuffer<ReadOnlyMemory<char>> value) => value = new VBuffer<ReadOnlyMemory<char>>(names.Length, names));
    }

    /// <summary>What a saved model keeps: the key count, the item type's name (null: none) and the values as text.</summary>
    public (int Count, string? ItemType, string[] Names) ToSaved() =>
        (Count, ItemType is null ? null : SavableTypes.First(t => t.Value.Equals(ItemType)).Key, [.. Names]);

    /// <summary>The classes a saved model describes; null when the description is inconsistent (the file was altered).</summary>
    public static LabelKeyValues? FromSaved(int count, string? itemType, string[]? names)
    {
        if (count < 1 || names is null || names.Length != count) return null;
        if (itemType is null) return new LabelKeyValues(count, names, null);
        if (!SavableTypes.TryGetValue(itemType, out var type)) return null;
        try
        {
            // Every value must read back as its type, or PredictedLabel's KeyValues would fail only when read.
            foreach (var name in names)
                if (type.RawType != typeof(ReadOnlyMemory<char>)) Convert.ChangeType(name, type.RawType, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is FormatException or OverflowException or InvalidCastException)
        {
            return null;
        }
        return new LabelKeyValues(count, names, type);
    }
}
