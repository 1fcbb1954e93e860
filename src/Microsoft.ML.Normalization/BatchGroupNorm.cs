using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Normalization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetNormalization.Normalization;

/// <summary>
/// Batch-group normalization (seed "four things" 3.4): statistics over one of G channel groups of
/// B_g contiguous examples. B_g = 1 is GN(G); G = C with B_g = N is BN. Running moments per channel
/// from the whole batch; at inference the example's own group statistics are weighed against the
/// group-averaged running ones by alpha (default 1/B_g).
/// </summary>
public sealed class BatchGroupNorm : NormalizationLayer
{
    private readonly PixelSetStatistics statistics;

    public BatchGroupNorm(long channels, int groups, int examplesPerGroup, double eps = 1e-5, double momentum = 0.1)
        : base("BatchGroupNorm", channels, eps, momentum, defaultAlpha: 1.0 / Math.Max(1, examplesPerGroup))
    {
        if (examplesPerGroup < 1)
            throw new ArgumentOutOfRangeException(nameof(examplesPerGroup), examplesPerGroup, "BatchGroupNorm: the examples per group must be >= 1.");
        if (groups < 1) throw new ArgumentOutOfRangeException(nameof(groups), groups, $"{LayerName}: the group count must be >= 1.");
        var set = PixelSet.BatchGroup(groups, examplesPerGroup);
        set.CheckChannels(LayerName, channels);
        Groups = groups;
        ExamplesPerGroup = examplesPerGroup;
        Running = RegisterRunningMoments(channels);
        statistics = new(set, RunningStatisticsKind.PerChannel, Running);
    }

    public int Groups { get; }
    public int ExamplesPerGroup { get; }
    internal RunningMoments Running { get; }

    public override bool HasRunningStatistics => true;

    private protected override string Settings => $"groups={Groups}, examples_per_group={ExamplesPerGroup}";

    private protected override bool InferenceStatisticsAreFixed(double alpha) => statistics.IsFixedAtInference(alpha);

    private protected override (Tensor Scale, Tensor Shift) Affine(CellMoments cells) => SingleSetAffine(statistics, cells);
}
