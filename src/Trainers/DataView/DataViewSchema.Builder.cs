namespace MLNetNormalization.Data;

public sealed partial class DataViewSchema
{
    /// <summary>Builds a schema column by column; a name added twice hides its earlier column.</summary>
    public sealed class Builder
    {
        private readonly List<(string Name, DataViewType Type, Annotations Annotations)> _columns = [];

        public Builder AddColumn(string name, DataViewType type, Annotations? annotations = null)
        {
            ArgumentException.ThrowIfNullOrEmpty(name);
            ArgumentNullException.ThrowIfNull(type);
            _columns.Add((name, type, annotations ?? Annotations.Empty));
            return this;
        }

        /// <summary>Adds copies of <paramref name="columns"/> (name, type, annotations), e.g. all of a source view's.</summary>
        public Builder AddColumns(IEnumerable<Column> columns)
        {
            foreach (var column in columns) AddColumn(column.Name, column.Type, column.Annotations);
            return this;
        }

        public DataViewSchema ToSchema() => new(_columns);
    }
}
