using System.Collections.Concurrent;
using MLNetNormalization.Data;
using MLNetNormalization.Trainers.ImageClassification;

namespace MLNetNormalization.Model;

/// <summary>
/// The loaders of the transformer kinds a model file can hold, by <see cref="ISavableTransformer.KindName"/>.
/// The library's own kinds are registered here, in one place, so they are known before any transformer type has been
/// touched (a registration in a transformer's static constructor would not run before the first load of a file).
/// </summary>
internal static class ModelLoaderRegistry
{
    private static readonly ConcurrentDictionary<string, Func<ModelReader, ITransformer>> Loaders = new(StringComparer.Ordinal)
    {
        [TransformerChainSaving.KindName] = TransformerChainSaving.Load,
        [ValueToKeyMappingTransformer.SavedKindName] = ValueToKeyMappingTransformer.Load,
        [KeyToValueMappingTransformer.SavedKindName] = KeyToValueMappingTransformer.Load,
        [ImageLoadingTransformer.SavedKindName] = ImageLoadingTransformer.Load,
        [ImageResizingTransformer.SavedKindName] = ImageResizingTransformer.Load,
        [PixelExtractingTransformer.SavedKindName] = PixelExtractingTransformer.Load,
        [ImageClassificationTransformer.SavedKindName] = ImageClassificationTransformer.Load,
    };

    /// <summary>Adds the loader of <paramref name="kind"/>; a kind registered twice is an error, since the first loader would silently win.</summary>
    public static void Register(string kind, Func<ModelReader, ITransformer> loader)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        ArgumentNullException.ThrowIfNull(loader);
        if (!Loaders.TryAdd(kind, loader))
            throw new InvalidOperationException($"The transformer kind '{kind}' already has a loader; give the new saved form a kind name of its own.");
    }

    public static bool IsKnown(string kind) => Loaders.ContainsKey(kind);

    /// <summary>The registered kinds, sorted, for error messages.</summary>
    public static string KnownKinds => string.Join(", ", Loaders.Keys.Order(StringComparer.Ordinal));

    /// <summary>The loader of <paramref name="kind"/>; the error names the file, the folder and the kinds this build knows.</summary>
    public static Func<ModelReader, ITransformer> Find(string kind, string source, string folder) =>
        Loaders.TryGetValue(kind, out var loader)
            ? loader
            : throw new InvalidDataException(
                $"{source} holds a transformer of kind '{kind}' (in {folder}), which this build cannot load; it knows {KnownKinds}. " +
                "Load the file with the build (or the extension) that wrote it.");
}
