namespace MLNetNormalization.Normalization;

/// <summary>
/// A normalizer that takes its statistics from one pixel set (BN, ghost BN, BGN, EN, GN, LN, IN): in training the
/// batch's mean and variance over each set, which also update the running moments; at inference the example's own
/// statistics over the set's part within it, weighed against the running moments by alpha
/// (docs/normalizers.md, section 2). A concrete layer is a constructor that
/// chooses the set, where its running moments live and its default alpha.
/// </summary>
public abstract class PixelSetNorm : NormalizationLayer
{
    private protected PixelSetNorm(string layerName, long channels, PixelSet set, RunningStatisticsKind running,
                                   double eps, double momentum, double defaultAlpha)
        : base(layerName, channels, eps, momentum, defaultAlpha)
    {
        set.CheckChannels(LayerName, channels);
        Running = RegisterRunningMoments(running == RunningStatisticsKind.PerSet ? set.GroupCount(channels) : channels);
        Statistics = new(set, running, Running);
    }

    /// <summary>The pixel set whose statistics normalize the input.</summary>
    public PixelSet Set => Statistics.Set;

    /// <summary>The running mean and variance (state_dict "running_mean", "running_var"), per channel or per set, float64.</summary>
    internal RunningMoments Running { get; }

    internal PixelSetStatistics Statistics { get; }

    public sealed override bool HasRunningStatistics => true;

    private protected sealed override bool InferenceStatisticsAreFixed(double alpha) => Statistics.IsFixedAtInference(alpha);

    private protected sealed override (Tensor Scale, Tensor Shift) Affine(CellMoments cells)
    {
        if (!training)
        {
            CheckInferenceSetSize(Statistics, cells.Shape);
            return AffineFor(cells, Statistics.Inference(cells, Alpha));
        }
        CheckTrainingSetSize(Set, cells.Shape);
        return AffineFor(cells, Statistics.Training(cells, Momentum));
    }

    private protected sealed override TableAlgebra TrainingTableAlgebra(long[] shape)
    {
        CheckTrainingSetSize(Set, shape);
        return SetMixture.OneSet(new(Set), Statistics.TrainingUpdates().ToArray());
    }

    private protected sealed override TableAlgebra InferenceTableAlgebra(long[] shape)
    {
        CheckInferenceSetSize(Statistics, shape);
        return SetMixture.OneSet(Statistics.InferenceSource(Channels, Alpha));
    }

    /// <summary><paramref name="value"/> when it is at least 1, else an <see cref="ArgumentOutOfRangeException"/> for <paramref name="parameter"/> saying "<paramref name="layerName"/>: the <paramref name="what"/> must be >= 1."</summary>
    private protected static int AtLeastOne(int value, string parameter, string layerName, string what) =>
        value >= 1 ? value : throw new ArgumentOutOfRangeException(parameter, value, $"{layerName}: the {what} must be >= 1.");
}
