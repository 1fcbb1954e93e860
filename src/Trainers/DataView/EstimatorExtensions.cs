namespace MLNetNormalization.Data;

/// <summary>Chaining: <c>first.Append(second)</c> makes an <see cref="EstimatorChain{TLastTransformer}"/>.</summary>
public static class EstimatorExtensions
{
    public static EstimatorChain<TTrans> Append<TTrans>(this IEstimator<ITransformer> start, IEstimator<TTrans> estimator)
        where TTrans : class, ITransformer =>
        new EstimatorChain<ITransformer>().Append(start).Append(estimator);
}
