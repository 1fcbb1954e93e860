using MLNetNormalization.Data;

namespace MLNetNormalization.Model;

/// <summary>
/// A transformer that <see cref="ModelOperationsCatalog.Save(ITransformer, DataViewSchema?, string)"/> can store.
/// It writes its state into its own folder of the model file; the loader registered under
/// <see cref="KindName"/> in <see cref="ModelLoaderRegistry"/> reads that folder back into an equal transformer.
/// </summary>
internal interface ISavableTransformer : ITransformer
{
    /// <summary>
    /// The stable name of this transformer's saved form (e.g. "ValueToKeyMapping"), stored in the file and looked up
    /// in <see cref="ModelLoaderRegistry"/> on load. Never reuse a kind name for a different layout: give a changed
    /// layout a new kind name (keeping the old loader) so files written earlier still load.
    /// </summary>
    string KindName { get; }

    /// <summary>Writes everything the loader needs (options, column names, maps, weights) through <paramref name="writer"/>.</summary>
    void Save(ModelWriter writer);
}
