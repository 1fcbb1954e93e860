namespace MLNetNormalization.Data;

/// <summary>
/// Estimators fitted one after the other: each is fitted on the data as transformed by the transformers fitted
/// before it. Build one with <c>estimator.Append(next)</c>.
/// </summary>
public sealed class EstimatorChain<TLastTransformer> : IEstimator<TransformerChain<TLastTransformer>>
    where TLastTransformer : class, ITransformer
{
    private readonly IEstimator<ITransformer>[] _estimators;

    /// <summary>An empty chain, to <see cref="Append{TNewTrans}"/> to.</summary>
    public EstimatorChain() : this([])
    {
    }

    private EstimatorChain(IEstimator<ITransformer>[] estimators) => _estimators = estimators;

    /// <summary>The last estimator, or null for an empty chain.</summary>
    public IEstimator<TLastTransformer>? LastEstimator => _estimators.Length == 0 ? null : (IEstimator<TLastTransformer>)_estimators[^1];

    public EstimatorChain<TNewTrans> Append<TNewTrans>(IEstimator<TNewTrans> estimator) where TNewTrans : class, ITransformer
    {
        ArgumentNullException.ThrowIfNull(estimator);
        return new([.. _estimators, estimator]);
    }

    public TransformerChain<TLastTransformer> Fit(IDataView input)
    {
        var transformers = new ITransformer[_estimators.Length];
        var data = input;
        for (var i = 0; i < _estimators.Length; i++)
        {
            transformers[i] = _estimators[i].Fit(data);
            // The last transformer's output is not needed to fit anything.
            if (i + 1 < _estimators.Length) data = transformers[i].Transform(data);
        }
        return new TransformerChain<TLastTransformer>(transformers);
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema) =>
        _estimators.Aggregate(inputSchema, (shape, estimator) => estimator.GetOutputSchema(shape));
}
