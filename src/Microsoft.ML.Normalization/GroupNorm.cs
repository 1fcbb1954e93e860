using MLNetNormalization.Normalization.Core;

namespace MLNetNormalization.Normalization;

/// <summary>
/// Group normalization (Wu and He, arXiv:1803.08494): statistics of each example over each of G contiguous channel
/// groups, with a per-channel affine. Running moments per channel allow alpha &lt; 1 at inference; the default alpha 1
/// is GN's own behaviour.
/// </summary>
public sealed class GroupNorm : PixelSetNorm
{
    /// <param name="channels">C, the channel count of the [N, C, H, W] input; a multiple of <paramref name="groups"/>.</param>
    /// <param name="groups">G, the channel groups, at least 1.</param>
    /// <param name="eps">Added to the variance before the square root (default 1e-5).</param>
    /// <param name="momentum">Weight of a batch in the running statistics (default 0.1).</param>
    /// <exception cref="ArgumentOutOfRangeException">G below 1, and as <see cref="BatchNorm"/>.</exception>
    /// <exception cref="ArgumentException">C not a multiple of G (the message lists the valid group counts).</exception>
    public GroupNorm(long channels, int groups, double eps = 1e-5, double momentum = 0.1)
        : base("GroupNorm", channels, PixelSet.Group(AtLeastOne(groups, nameof(groups), "GroupNorm", "group count")),
               RunningStatisticsKind.PerChannel, eps, momentum, defaultAlpha: 1)
    {
        Groups = groups;
    }

    /// <summary>G, the channel groups.</summary>
    public int Groups { get; }

    private protected override string Settings => $"groups={Groups}";
}
