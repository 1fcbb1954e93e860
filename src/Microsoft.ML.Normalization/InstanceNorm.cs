namespace MLNetNormalization.Normalization;

/// <summary>
/// Instance normalization (Ulyanov, Vedaldi and Lempitsky, arXiv:1607.08022): statistics of each (example, channel)
/// cell over its pixels, with a per-channel affine. Running moments per channel allow alpha &lt; 1; the default alpha is 1.
/// </summary>
public sealed class InstanceNorm : PixelSetNorm
{
    /// <inheritdoc cref="BatchNorm(long, double, double)"/>
    public InstanceNorm(long channels, double eps = DefaultEps, double momentum = DefaultMomentum)
        : base("InstanceNorm", channels, PixelSet.Instance, RunningStatisticsKind.PerChannel, eps, momentum, defaultAlpha: 1)
    {
    }
}
