using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Normalization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetNormalization.Normalization;

/// <summary>
/// Ghost batch normalization (seed "four things" 3.2): in training, BN statistics within contiguous
/// chunks of <see cref="GhostSize"/> examples (a last chunk of one example joins the chunk before it);
/// running statistics and inference exactly as <see cref="BatchNorm"/>. A ghost size >= N is BN.
/// </summary>
public sealed class GhostBatchNorm : NormalizationLayer
{
    private readonly PixelSetStatistics statistics;

    public GhostBatchNorm(long channels, int ghostSize, double eps = 1e-5, double momentum = 0.1)
        : base("GhostBatchNorm", channels, eps, momentum, defaultAlpha: 0)
    {
        if (ghostSize < 1) throw new ArgumentOutOfRangeException(nameof(ghostSize), ghostSize, "GhostBatchNorm: the ghost batch size must be >= 1.");
        GhostSize = ghostSize;
        Running = RegisterRunningMoments(channels);
        statistics = new(PixelSet.Ghost(ghostSize), RunningStatisticsKind.PerChannel, Running);
    }

    public int GhostSize { get; }

    internal RunningMoments Running { get; }

    public override bool HasRunningStatistics => true;

    private protected override string Settings => $"ghost_size={GhostSize}";

    private protected override Tensor? FusedForward(Tensor input) => FusedBatchNormTraining(input, statistics.Set, Running);

    private protected override bool InferenceStatisticsAreFixed(double alpha) => statistics.IsFixedAtInference(alpha);

    private protected override (Tensor Scale, Tensor Shift) Affine(CellMoments cells) => SingleSetAffine(statistics, cells);
}
