using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Normalization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetNormalization.Normalization;

/// <summary>
/// Layer normalization on conv features: statistics of each example over all its channels and pixels
/// (GN with one group), with a per-channel affine. Running moments per channel allow alpha &lt; 1; the
/// default alpha is 1.
/// </summary>
public sealed class LayerNorm : NormalizationLayer
{
    private readonly PixelSetStatistics statistics;

    public LayerNorm(long channels, double eps = 1e-5, double momentum = 0.1)
        : base("LayerNorm", channels, eps, momentum, defaultAlpha: 1)
    {
        Running = RegisterRunningMoments(channels);
        statistics = new(PixelSet.Layer, RunningStatisticsKind.PerChannel, Running);
    }

    internal RunningMoments Running { get; }

    public override bool HasRunningStatistics => true;

    private protected override bool InferenceStatisticsAreFixed(double alpha) => statistics.IsFixedAtInference(alpha);

    private protected override (Tensor Scale, Tensor Shift) Affine(CellMoments cells) => SingleSetAffine(statistics, cells);
}
