namespace MLNetNormalization.Data;

public sealed partial class DataViewSchema
{
    /// <summary>One column of a schema: its name, position, type and annotations.</summary>
    public readonly struct Column
    {
        internal Column(string name, int index, bool isHidden, DataViewType type, Annotations annotations)
        {
            Name = name;
            Index = index;
            IsHidden = isHidden;
            Type = type;
            Annotations = annotations;
        }

        public string Name { get; }

        public int Index { get; }

        /// <summary>True when a later column has the same name, so that looking the name up finds that one.</summary>
        public bool IsHidden { get; }

        public DataViewType Type { get; }

        public Annotations Annotations { get; }

        /// <summary>Whether the column carries a <see cref="AnnotationKinds.KeyValues"/> annotation.</summary>
        public bool HasKeyValues() => Annotations.Contains(AnnotationKinds.KeyValues);

        /// <summary>The values the column's keys stand for (entry k - 1 for key k); the error names the column.</summary>
        public void GetKeyValues<TValue>(ref TValue[] values)
        {
            if (!HasKeyValues())
                throw new InvalidOperationException($"The column '{Name}' ({Type}) has no {AnnotationKinds.KeyValues} annotation; only key columns made by MapValueToKey have one.");
            Annotations.GetValue(AnnotationKinds.KeyValues, ref values);
        }

        public override string ToString() => $"{Name} ({Type}){(IsHidden ? ", hidden" : "")}";
    }
}
