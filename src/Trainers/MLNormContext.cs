using MLNetNormalization.Data;

namespace MLNetNormalization;

/// <summary>
/// The entry point of the ML.NET-style API: catalogs of data operations and transforms sharing one seed.
/// Operations given no seed of their own draw one from the context's generator, so with a fixed
/// <see cref="Seed"/> a program that makes the same calls in the same order gets the same results.
/// </summary>
public sealed class MLNormContext
{
    private readonly Random _random;

    /// <param name="seed">Fixes every random choice (splits, shuffles); null draws a different seed each run.</param>
    public MLNormContext(int? seed = null)
    {
        Seed = seed;
        _random = seed is { } s ? new Random(s) : new Random();
        Data = new DataOperationsCatalog(NextSeed);
        Transforms = new TransformsCatalog();
        MulticlassClassification = new MulticlassClassificationCatalog(NextSeed);
    }

    public int? Seed { get; }

    public DataOperationsCatalog Data { get; }

    public TransformsCatalog Transforms { get; }

    /// <summary>Multiclass trainers (ImageClassifierWithNorm), evaluation and inference-alpha tuning.</summary>
    public MulticlassClassificationCatalog MulticlassClassification { get; }

    /// <summary>Saving and loading fitted models, and prediction engines.</summary>
    public ModelOperationsCatalog Model { get; } = new();

    /// <summary>The next seed from the context's generator (locked: catalogs may be used from several threads).</summary>
    private int NextSeed()
    {
        lock (_random) return _random.Next();
    }
}
