namespace MLNetNormalization.Normalization;

/// <summary>
/// Batch-group normalization (Summers and Dinneen, "Four Things Everyone Should Know to Improve Batch Normalization",
/// arXiv:1906.03548, section 3.4; docs/normalizers.md, section 2):
/// statistics over one of G channel groups of B_g contiguous examples. B_g = 1 is GN(G); G = C with B_g = N is BN.
/// Running moments per channel from the whole batch; at inference the example's own group statistics are weighed
/// against the group-averaged running ones by alpha (default 1/B_g).
/// </summary>
public sealed class BatchGroupNorm : PixelSetNorm
{
    /// <inheritdoc cref="BatchNorm(long, double, double)"/>
    /// <param name="groups">G, the channel groups: at least 1, dividing C.</param>
    /// <param name="examplesPerGroup">B_g, the examples a group pools (a shorter last chunk stays on its own), at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">G or B_g below 1.</exception>
    /// <exception cref="ArgumentException">C not a multiple of G (the message lists the valid group counts).</exception>
    public BatchGroupNorm(long channels, int groups, int examplesPerGroup, double eps = DefaultEps, double momentum = DefaultMomentum)
        : base("BatchGroupNorm", channels,
               PixelSet.BatchGroup(AtLeastOne(groups, nameof(groups), "BatchGroupNorm", "group count"),
                                   AtLeastOne(examplesPerGroup, nameof(examplesPerGroup), "BatchGroupNorm", "examples per group")),
               RunningStatisticsKind.PerChannel, eps, momentum, defaultAlpha: 1.0 / examplesPerGroup)
    {
    }

    /// <summary>G, the channel groups.</summary>
    public int Groups => Set.ChannelGroups!.Value;

    /// <summary>B_g, the examples a group pools.</summary>
    public int ExamplesPerGroup => Set.ChunkSize;

    private protected override string Settings => $"groups={Groups}, examples_per_group={ExamplesPerGroup}";
}
