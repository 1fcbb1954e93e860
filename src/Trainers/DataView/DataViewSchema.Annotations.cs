namespace MLNetNormalization.Data;

public sealed partial class DataViewSchema
{
    /// <summary>
    /// Named, typed values attached to a column (for example the values behind a key column). ML.NET exposes them
    /// through getters; here they are held as values, since they are small and known when the schema is made.
    /// </summary>
    public sealed class Annotations
    {
        private readonly Dictionary<string, (DataViewType Type, object Value)> _values;

        private Annotations(Dictionary<string, (DataViewType Type, object Value)> values) => _values = values;

        public static Annotations Empty { get; } = new(new Dictionary<string, (DataViewType, object)>(StringComparer.Ordinal));

        /// <summary>An annotation set with one annotation; the value must be of <paramref name="type"/>'s raw type.</summary>
        public static Annotations Create<TValue>(string kind, DataViewType type, TValue value) where TValue : notnull
        {
            if (type.RawType != typeof(TValue))
                throw new ArgumentException($"The annotation '{kind}' is declared {type}, whose values are {type.RawType.Name}, but was given a {typeof(TValue).Name}.", nameof(value));
            return new(new Dictionary<string, (DataViewType, object)>(StringComparer.Ordinal) { [kind] = (type, value) });
        }

        /// <summary>
        /// An annotation set from several (kind, type, value) entries, as a model file's schema stores them; each
        /// value must be of its type's raw type, and kinds must be distinct.
        /// </summary>
        internal static Annotations FromEntries(IEnumerable<(string Kind, DataViewType Type, object Value)> entries)
        {
            var values = new Dictionary<string, (DataViewType, object)>(StringComparer.Ordinal);
            foreach (var (kind, type, value) in entries)
            {
                if (value.GetType() != type.RawType)
                    throw new ArgumentException($"The annotation '{kind}' is declared {type}, whose values are {type.RawType.Name}, but was given a {value.GetType().Name}.", nameof(entries));
                if (!values.TryAdd(kind, (type, value))) throw new ArgumentException($"The annotation '{kind}' is given twice.", nameof(entries));
            }
            return values.Count == 0 ? Empty : new(values);
        }

        /// <summary>Every annotation with its stored value (not copied: callers must not change arrays), for saving a schema.</summary>
        internal IEnumerable<(string Kind, DataViewType Type, object Value)> Entries =>
            _values.Select(pair => (pair.Key, pair.Value.Type, pair.Value.Value));

        public IEnumerable<string> Kinds => _values.Keys;

        public bool Contains(string kind) => _values.ContainsKey(kind);

        /// <summary>The type of annotation <paramref name="kind"/>; the error lists the kinds there are.</summary>
        public DataViewType TypeOf(string kind) => Find(kind).Type;

        /// <summary>Reads annotation <paramref name="kind"/>; vectors are copied, so callers cannot change the schema.</summary>
        public void GetValue<TValue>(string kind, ref TValue value)
        {
            var (type, stored) = Find(kind);
            if (typeof(TValue) != type.RawType)
                throw new InvalidOperationException($"The annotation '{kind}' is {type}, read as {type.RawType.Name}, not {typeof(TValue).Name}.");
            value = stored is Array array ? (TValue)array.Clone() : (TValue)stored;
        }

        private (DataViewType Type, object Value) Find(string kind) => _values.TryGetValue(kind, out var entry)
            ? entry
            : throw new ArgumentOutOfRangeException(nameof(kind),
                $"There is no annotation '{kind}'; there are {(_values.Count == 0 ? "none" : string.Join(", ", _values.Keys))}.");
    }
}
