using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Normalization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetNormalization.Normalization;

/// <summary>
/// Group normalization: statistics of each example over each of G contiguous channel groups
/// (C % G must be 0), with a per-channel affine. Running moments per channel allow alpha &lt; 1 at
/// inference; the default alpha 1 is GN's own behaviour.
/// </summary>
public sealed class GroupNorm : NormalizationLayer
{
    private readonly PixelSetStatistics statistics;

    public GroupNorm(long channels, int groups, double eps = 1e-5, double momentum = 0.1)
        : base("GroupNorm", channels, eps, momentum, defaultAlpha: 1)
    {
        if (groups < 1) throw new ArgumentOutOfRangeException(nameof(groups), groups, $"{LayerName}: the group count must be >= 1.");
        var set = PixelSet.Group(groups);
        set.CheckChannels(LayerName, channels);
        Groups = groups;
        Running = RegisterRunningMoments(channels);
        statistics = new(set, RunningStatisticsKind.PerChannel, Running);
    }

    public int Groups { get; }
    internal RunningMoments Running { get; }

    public override bool HasRunningStatistics => true;

    private protected override string Settings => $"groups={Groups}";

    private protected override bool InferenceStatisticsAreFixed(double alpha) => statistics.IsFixedAtInference(alpha);

    private protected override (Tensor Scale, Tensor Shift) Affine(CellMoments cells) => SingleSetAffine(statistics, cells);
}
