using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Normalization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetNormalization.Normalization;

/// <summary>
/// Batch normalization: y = gamma·(x - mu[c]) / sqrt(var[c] + eps) + beta, with mu and the biased var
/// of channel c over every example's pixels. Running statistics per channel (var unbiased by N·H·W) are
/// what inference uses, mixed with the example's own by alpha (default 0: PyTorch's BatchNorm2d).
/// </summary>
public sealed class BatchNorm : NormalizationLayer
{
    private readonly PixelSetStatistics statistics;

    public BatchNorm(long channels, double eps = 1e-5, double momentum = 0.1)
        : base("BatchNorm", channels, eps, momentum, defaultAlpha: 0)
    {
        Running = RegisterRunningMoments(channels);
        statistics = new(PixelSet.Batch, RunningStatisticsKind.PerSet, Running);
    }

    internal RunningMoments Running { get; }

    public override bool HasRunningStatistics => true;

    private protected override Tensor? FusedForward(Tensor input) => FusedBatchNormTraining(input, PixelSet.Batch, Running);

    private protected override bool InferenceStatisticsAreFixed(double alpha) => statistics.IsFixedAtInference(alpha);

    private protected override (Tensor Scale, Tensor Shift) Affine(CellMoments cells) => SingleSetAffine(statistics, cells);
}
