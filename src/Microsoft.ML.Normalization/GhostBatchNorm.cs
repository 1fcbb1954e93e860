namespace MLNetNormalization.Normalization;

/// <summary>
/// Ghost batch normalization (Hoffer, Hubara and Soudry, "Train longer, generalize better", arXiv:1705.08741): in
/// training, BN statistics within contiguous chunks of <see cref="GhostSize"/> examples (a last chunk of one example
/// joins the chunk before it); running statistics and inference exactly as <see cref="BatchNorm"/>. A ghost size >= N is BN.
/// </summary>
public sealed class GhostBatchNorm : PixelSetNorm
{
    /// <inheritdoc cref="BatchNorm(long, double, double)"/>
    /// <param name="ghostSize">Examples per ghost batch, at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">A ghost size below 1.</exception>
    public GhostBatchNorm(long channels, int ghostSize, double eps = DefaultEps, double momentum = DefaultMomentum)
        : base("GhostBatchNorm", channels, PixelSet.Ghost(AtLeastOne(ghostSize, nameof(ghostSize), "GhostBatchNorm", "ghost batch size")),
               RunningStatisticsKind.PerChannel, eps, momentum, defaultAlpha: 0)
    {
    }

    /// <summary>Examples per ghost batch.</summary>
    public int GhostSize => Set.ChunkSize;

    private protected override string Settings => $"ghost_size={GhostSize}";

    private protected override Tensor? FusedForward(Tensor input) => BatchNorm.FusedTraining(this, input);
}
