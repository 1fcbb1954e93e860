using MLNetNormalization.Normalization;
using MLNetNormalization.Normalization.Core;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>
/// The single-set and heterologous layers under test, by a short name, for theories that run one check
/// over all of them. <see cref="Groups"/> is the channel grouping of the layer's statistics within one example.
/// </summary>
internal static class LayerCatalog
{
    /// <summary>Every layer of the list (all keep running statistics).</summary>
    public static readonly string[] Names = ["bn", "ghost", "bgn", "gn", "ln", "in", "en", "hn"];

    /// <summary><see cref="Names"/> as theory data.</summary>
    public static TheoryData<string> All => new(Names);

    public static NormalizationLayer Build(string name, long channels = 4) => name switch
    {
        "bn" => new BatchNorm(channels),
        "ghost" => new GhostBatchNorm(channels, ghostSize: 2),
        "bgn" => new BatchGroupNorm(channels, groups: 2, examplesPerGroup: 2),
        "gn" => new GroupNorm(channels, groups: 2),
        "ln" => new LayerNorm(channels),
        "in" => new InstanceNorm(channels),
        "en" => new ExtendedNorm(channels, groups: 2),
        "hn" => new HeterologousNorm(channels, PixelSet.Batch, PixelSet.Extended(2)),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a layer of the catalog"),
    };

    /// <summary>Channel groups of the layer's statistics (C for per-channel ones).</summary>
    public static int Groups(string name, int channels = 4) => name switch
    {
        "bn" or "ghost" or "in" => channels,
        "bgn" or "gn" or "en" => 2,
        "ln" => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a single-set layer"),
    };
}
