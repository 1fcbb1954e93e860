namespace MLNetNormalization.Data;

/// <summary>The values a fitted MapValueToKey codes, key k standing for entry k - 1; built by one pass over a column.</summary>
internal abstract class KeyValueDictionary
{
    public abstract PrimitiveDataViewType ItemType { get; }

    public abstract int Count { get; }

    public KeyDataViewType KeyType => new((ulong)Count);

    /// <summary>The KeyValues annotation of the output column: the values in key order.</summary>
    public abstract DataViewSchema.Annotations Annotations { get; }

    /// <summary><paramref name="input"/> plus the key column <paramref name="outputName"/> coded from <paramref name="column"/>.</summary>
    public abstract IDataView Apply(IDataView input, DataViewSchema.Column column, string outputName);

    public static KeyValueDictionary Build(IDataView data, DataViewSchema.Column column, int maximumNumberOfKeys,
        ValueToKeyMappingEstimator.KeyOrdinality ordinality) =>
        GenericCall.Invoke<KeyValueDictionary>(typeof(KeyValueDictionary), nameof(BuildTyped), column.Type.RawType, null, data, column, maximumNumberOfKeys, ordinality);

    private static KeyValueDictionary BuildTyped<T>(IDataView data, DataViewSchema.Column column, int maximumNumberOfKeys,
        ValueToKeyMappingEstimator.KeyOrdinality ordinality) where T : notnull
    {
        var seen = new HashSet<T>();
        var values = new List<T>();
        using (var cursor = data.GetRowCursor([column]))
        {
            var get = cursor.GetGetter<T>(column);
            T value = default!;
            // As ML.NET does, values beyond the maximum are not added (they will map to key 0); reading stops there.
            while (values.Count < maximumNumberOfKeys && cursor.MoveNext())
            {
                get(ref value);
                if (!IsMissing(value) && seen.Add(value)) values.Add(value);
            }
        }
        if (values.Count == 0)
            throw new InvalidOperationException(
                $"MapValueToKey: the column '{column.Name}' has no values to make keys of (no rows, or only NaN); fit it on data that has some.");
        if (ordinality == ValueToKeyMappingEstimator.KeyOrdinality.ByValue)
            values.Sort(typeof(T) == typeof(string) ? (IComparer<T>)StringComparer.Ordinal : Comparer<T>.Default);
        return new Typed<T>((PrimitiveDataViewType)column.Type, [.. values]);
    }

    /// <summary>A copy of the values in key order (a T[] of <see cref="ItemType"/>'s raw type), for saving the map.</summary>
    public abstract Array Values { get; }

    /// <summary>
    /// The dictionary whose key k stands for <paramref name="values"/>[k - 1], as <see cref="Values"/> gave them;
    /// how a loaded model file restores a fitted MapValueToKey. The values must be distinct and not missing.
    /// </summary>
    public static KeyValueDictionary FromValues(PrimitiveDataViewType itemType, Array values) =>
        GenericCall.Invoke<KeyValueDictionary>(typeof(KeyValueDictionary), nameof(FromValuesTyped), itemType.RawType, null, itemType, values);

    private static KeyValueDictionary FromValuesTyped<T>(PrimitiveDataViewType itemType, Array values) where T : notnull
    {
        var typed = (T[])values;
        if (typed.Length == 0) throw new ArgumentException("A key map needs at least one value.", nameof(values));
        var missing = Array.FindIndex(typed, v => IsMissing(v));
        if (missing >= 0) throw new ArgumentException($"A key map cannot hold the missing value (entry {missing}).", nameof(values));
        var distinct = new HashSet<T>();
        var repeated = Array.FindIndex(typed, v => !distinct.Add(v));
        if (repeated >= 0) throw new ArgumentException($"A key map holds the value '{typed[repeated]}' twice.", nameof(values));
        return new Typed<T>(itemType, [.. typed]);
    }

    private static bool IsMissing<T>(T value) => value is float f ? float.IsNaN(f) : value is double d && double.IsNaN(d);

    private sealed class Typed<T>(PrimitiveDataViewType itemType, T[] values) : KeyValueDictionary where T : notnull
    {
        private readonly Dictionary<T, uint> _keys = values.Select((v, i) => (v, i)).ToDictionary(p => p.v, p => (uint)(p.i + 1));

        public override PrimitiveDataViewType ItemType => itemType;

        public override int Count => values.Length;

        public override Array Values => (T[])values.Clone();

        public override DataViewSchema.Annotations Annotations =>
            DataViewSchema.Annotations.Create(AnnotationKinds.KeyValues, new VectorDataViewType(itemType, values.Length), (T[])values.Clone());

        public override IDataView Apply(IDataView input, DataViewSchema.Column column, string outputName) =>
            new MappedColumnDataView<T, uint>(input, column, outputName, KeyType, Annotations,
                value => !IsMissing(value) && _keys.TryGetValue(value, out var key) ? key : 0);
    }
}
