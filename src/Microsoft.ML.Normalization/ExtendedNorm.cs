using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Normalization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetNormalization.Normalization;

/// <summary>
/// Extended normalization EN(G) (heterologous paper): mean and variance of one of G channel groups over
/// all examples (G = 1: every pixel of the layer). Running mean and var per group, the var unbiased by
/// N·(C/G)·H·W; inference uses them, mixed with the example's own group statistics by alpha (default 0).
/// </summary>
public sealed class ExtendedNorm : NormalizationLayer
{
    private readonly PixelSetStatistics statistics;

    public ExtendedNorm(long channels, int groups = 1, double eps = 1e-5, double momentum = 0.1)
        : base("ExtendedNorm", channels, eps, momentum, defaultAlpha: 0)
    {
        if (groups < 1) throw new ArgumentOutOfRangeException(nameof(groups), groups, $"{LayerName}: the group count must be >= 1.");
        var set = PixelSet.Extended(groups);
        set.CheckChannels(LayerName, channels);
        Groups = groups;
        Running = RegisterRunningMoments(groups);
        statistics = new(set, RunningStatisticsKind.PerSet, Running);
    }

    public int Groups { get; }
    internal RunningMoments Running { get; }

    public override bool HasRunningStatistics => true;

    private protected override string Settings => $"groups={Groups}";

    private protected override bool InferenceStatisticsAreFixed(double alpha) => statistics.IsFixedAtInference(alpha);

    private protected override (Tensor Scale, Tensor Shift) Affine(CellMoments cells) => SingleSetAffine(statistics, cells);
}
