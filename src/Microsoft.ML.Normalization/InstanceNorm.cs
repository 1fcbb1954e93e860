using MLNetNormalization.Normalization.Core;

namespace MLNetNormalization.Normalization;

/// <summary>
/// Instance normalization (Ulyanov, Vedaldi and Lempitsky, arXiv:1607.08022): statistics of each (example, channel)
/// cell over its pixels, with a per-channel affine. Running moments per channel allow alpha &lt; 1; the default alpha is 1.
/// </summary>
public sealed class InstanceNorm : PixelSetNorm
{
    /// <param name="channels">C, the channel count of the [N, C, H, W] input.</param>
    /// <param name="eps">Added to the variance before the square root (default 1e-5).</param>
    /// <param name="momentum">Weight of a batch in the running statistics (default 0.1).</param>
    /// <exception cref="ArgumentOutOfRangeException">As <see cref="BatchNorm"/>.</exception>
    public InstanceNorm(long channels, double eps = 1e-5, double momentum = 0.1)
        : base("InstanceNorm", channels, PixelSet.Instance, RunningStatisticsKind.PerChannel, eps, momentum, defaultAlpha: 1)
    {
    }
}
