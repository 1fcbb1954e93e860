namespace MLNetNormalization.Normalization;

/// <summary>
/// Group normalization (Wu and He, arXiv:1803.08494): statistics of each example over each of G contiguous channel
/// groups, with a per-channel affine. Running moments per channel allow alpha &lt; 1 at inference; the default alpha 1
/// is GN's own behaviour.
/// </summary>
public sealed class GroupNorm : PixelSetNorm
{
    /// <inheritdoc cref="BatchNorm(long, double, double)"/>
    /// <param name="groups">G, the channel groups: at least 1, dividing C.</param>
    /// <exception cref="ArgumentOutOfRangeException">G below 1.</exception>
    /// <exception cref="ArgumentException">C not a multiple of G (the message lists the valid group counts).</exception>
    public GroupNorm(long channels, int groups, double eps = DefaultEps, double momentum = DefaultMomentum)
        : base("GroupNorm", channels, PixelSet.Group(AtLeastOne(groups, nameof(groups), "GroupNorm", "group count")),
               RunningStatisticsKind.PerChannel, eps, momentum, defaultAlpha: 1)
    {
    }

    /// <summary>G, the channel groups.</summary>
    public int Groups => Set.ChannelGroups!.Value;

    private protected override string Settings => $"groups={Groups}";
}
