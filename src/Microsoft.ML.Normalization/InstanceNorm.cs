using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Normalization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetNormalization.Normalization;

/// <summary>
/// Instance normalization: statistics of each (example, channel) cell over its pixels, with a
/// per-channel affine. Running moments per channel allow alpha &lt; 1; the default alpha is 1.
/// </summary>
public sealed class InstanceNorm : NormalizationLayer
{
    private readonly PixelSetStatistics statistics;

    public InstanceNorm(long channels, double eps = 1e-5, double momentum = 0.1)
        : base("InstanceNorm", channels, eps, momentum, defaultAlpha: 1)
    {
        Running = RegisterRunningMoments(channels);
        statistics = new(PixelSet.Instance, RunningStatisticsKind.PerChannel, Running);
    }

    internal RunningMoments Running { get; }

    public override bool HasRunningStatistics => true;

    private protected override bool InferenceStatisticsAreFixed(double alpha) => statistics.IsFixedAtInference(alpha);

    private protected override (Tensor Scale, Tensor Shift) Affine(CellMoments cells) => SingleSetAffine(statistics, cells);
}
