namespace MLNetNormalization.Data;

/// <summary>Learns a transformer from data (<see cref="Fit"/>), for example a value-to-key dictionary.</summary>
public interface IEstimator<out TTransformer> where TTransformer : ITransformer
{
    TTransformer Fit(IDataView input);

    /// <summary>The shape of the schema the fitted transformer would output; errors name missing or mistyped input columns.</summary>
    SchemaShape GetOutputSchema(SchemaShape inputSchema);
}
