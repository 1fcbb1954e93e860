using System.Collections;
using MLNetNormalization.Model;

namespace MLNetNormalization.Data;

/// <summary>Transformers applied one after the other; what fitting an <see cref="EstimatorChain{TLastTransformer}"/> gives.</summary>
public sealed class TransformerChain<TLastTransformer> : ITransformer, IEnumerable<ITransformer>, ISavableTransformer
    where TLastTransformer : class, ITransformer
{
    private readonly ITransformer[] _transformers;

    public TransformerChain(params ITransformer[] transformers)
    {
        if (Array.Exists(transformers, t => t is null)) throw new ArgumentNullException(nameof(transformers), "A transformer chain cannot hold null.");
        if (transformers.Length > 0 && transformers[^1] is not TLastTransformer)
            throw new ArgumentException($"The last transformer is a {transformers[^1].GetType().Name}, not a {typeof(TLastTransformer).Name}.", nameof(transformers));
        _transformers = transformers;
    }

    /// <summary>The last transformer, or null for an empty chain.</summary>
    public TLastTransformer? LastTransformer => _transformers.Length == 0 ? null : (TLastTransformer)_transformers[^1];

    public TransformerChain<TNewLast> Append<TNewLast>(TNewLast transformer) where TNewLast : class, ITransformer =>
        new([.. _transformers, transformer]);

    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) =>
        _transformers.Aggregate(inputSchema, (schema, transformer) => transformer.GetOutputSchema(schema));

    public IDataView Transform(IDataView input) =>
        _transformers.Aggregate(input, (data, transformer) => transformer.Transform(data));

    string ISavableTransformer.KindName => TransformerChainSaving.KindName;

    void ISavableTransformer.Save(ModelWriter writer) => TransformerChainSaving.Save(writer, _transformers);

    public IEnumerator<ITransformer> GetEnumerator() => ((IEnumerable<ITransformer>)_transformers).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
