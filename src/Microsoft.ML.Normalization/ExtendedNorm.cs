namespace MLNetNormalization.Normalization;

/// <summary>
/// Extended normalization EN(G) ("Heterologous Normalization", ICLR 2022 submission; docs/normalizers.md, section 2): mean and variance of one
/// of G channel groups over all examples (G = 1: every pixel of the layer). Running mean and var per group, the var
/// unbiased by N·(C/G)·H·W; inference uses them, mixed with the example's own group statistics by alpha (default 0).
/// </summary>
public sealed class ExtendedNorm : PixelSetNorm
{
    /// <inheritdoc cref="BatchNorm(long, double, double)"/>
    /// <param name="groups">G, the channel groups (default 1): at least 1, dividing C.</param>
    /// <exception cref="ArgumentOutOfRangeException">G below 1.</exception>
    /// <exception cref="ArgumentException">C not a multiple of G (the message lists the valid group counts).</exception>
    public ExtendedNorm(long channels, int groups = NormalizerFactory.DefaultExtendedNormGroups, double eps = DefaultEps, double momentum = DefaultMomentum)
        : base("ExtendedNorm", channels, PixelSet.Extended(AtLeastOne(groups, nameof(groups), "ExtendedNorm", "group count")),
               RunningStatisticsKind.PerSet, eps, momentum, defaultAlpha: 0)
    {
    }

    /// <summary>G, the channel groups.</summary>
    public int Groups => Set.ChannelGroups!.Value;

    private protected override string Settings => $"groups={Groups}";
}
