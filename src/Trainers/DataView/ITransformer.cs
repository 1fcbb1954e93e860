namespace MLNetNormalization.Data;

/// <summary>A fitted transformation: maps a view to a new (lazy) view.</summary>
public interface ITransformer
{
    /// <summary>The schema <see cref="Transform"/> would produce; errors name the input columns that are missing or of the wrong type.</summary>
    DataViewSchema GetOutputSchema(DataViewSchema inputSchema);

    /// <summary>A lazy view of <paramref name="input"/> transformed: nothing is read until one of its cursors moves.</summary>
    IDataView Transform(IDataView input);
}
