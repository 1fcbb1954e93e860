namespace MLNetNormalization.Normalization;

/// <summary>
/// Layer normalization (Ba, Kiros and Hinton, arXiv:1607.06450) on conv features: statistics of each example over all
/// its channels and pixels (GN with one group), with a per-channel affine. Running moments per channel allow
/// alpha &lt; 1; the default alpha is 1.
/// </summary>
public sealed class LayerNorm : PixelSetNorm
{
    /// <inheritdoc cref="BatchNorm(long, double, double)"/>
    public LayerNorm(long channels, double eps = DefaultEps, double momentum = DefaultMomentum)
        : base("LayerNorm", channels, PixelSet.Layer, RunningStatisticsKind.PerChannel, eps, momentum, defaultAlpha: 1)
    {
    }
}
