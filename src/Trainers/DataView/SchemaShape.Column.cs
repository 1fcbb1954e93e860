namespace MLNetNormalization.Data;

public sealed partial class SchemaShape
{
    /// <summary>A column's shape: scalar or vector (of known size or not), its item type, whether it holds keys.</summary>
    public readonly struct Column
    {
        public Column(string name, VectorKind kind, DataViewType itemType, bool isKey, SchemaShape? annotations = null)
        {
            ArgumentException.ThrowIfNullOrEmpty(name);
            Name = name;
            Kind = kind;
            ItemType = itemType;
            IsKey = isKey;
            Annotations = annotations ?? new SchemaShape([]);
        }

        /// <summary>Whether a column's values are single items or vectors.</summary>
        public enum VectorKind
        {
            Scalar,
            Vector,
            VariableVector,
        }

        public string Name { get; }

        public VectorKind Kind { get; }

        /// <summary>The type of each item; for keys, UInt32 (the key count is not part of the shape).</summary>
        public DataViewType ItemType { get; }

        public bool IsKey { get; }

        /// <summary>The shapes of the column's annotations, each named by its kind.</summary>
        public SchemaShape Annotations { get; }

        internal static Column Of(string name, DataViewType type, SchemaShape annotations) => type switch
        {
            KeyDataViewType => new Column(name, VectorKind.Scalar, NumberDataViewType.UInt32, isKey: true, annotations),
            VectorDataViewType vector => new Column(name, vector.IsKnownSize ? VectorKind.Vector : VectorKind.VariableVector, vector.ItemType, isKey: false, annotations),
            _ => new Column(name, VectorKind.Scalar, type, isKey: false, annotations),
        };

        public override string ToString() => $"{Name} ({(IsKey ? "Key" : Kind == VectorKind.Scalar ? ItemType.ToString() : $"{Kind}<{ItemType}>")})";
    }
}
