using MLNetNormalization.Data;

namespace MLNetNormalization.Model;

/// <summary>
/// The saved form of a <see cref="TransformerChain{TLastTransformer}"/>: its length, then each transformer in a
/// numbered subfolder (0, 1, ...), so chains nest. A loaded chain is a TransformerChain&lt;ITransformer&gt;, since the
/// file does not record the static type the chain had when it was saved.
/// </summary>
internal static class TransformerChainSaving
{
    public const string KindName = "TransformerChain";

    private const string ChainEntry = "chain.json";

    private sealed record ChainJson(int Count);

    public static void Save(ModelWriter writer, IReadOnlyList<ITransformer> transformers)
    {
        writer.WriteJson(ChainEntry, new ChainJson(transformers.Count));
        for (var i = 0; i < transformers.Count; i++) writer.WriteTransformer(i.ToString(System.Globalization.CultureInfo.InvariantCulture), transformers[i]);
    }

    public static ITransformer Load(ModelReader reader)
    {
        var chain = reader.ReadJson<ChainJson>(ChainEntry);
        if (chain.Count < 0) throw reader.Damaged(ChainEntry, $"a chain of {chain.Count} transformers");
        var transformers = new ITransformer[chain.Count];
        for (var i = 0; i < chain.Count; i++) transformers[i] = reader.ReadTransformer(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return new TransformerChain<ITransformer>(transformers);
    }
}
