namespace MLNetNormalization.Normalization;

/// <summary>
/// Heterologous normalization ("Heterologous Normalization", an ICLR 2022 submission): the mean from one pixel set S, the standard
/// deviation from another S' (the spread of S' around S' 's own mean),
/// y = gamma·(x - mu_S) / sqrt(var_S' + eps) + beta. Any pair of BN, IN, LN, GN(G), EN(G) is allowed;
/// the default is (BN, EN(1)). Each batch-dependent set keeps running statistics (buffers
/// "mean_set_running_*" and "std_set_running_*"), mixed with the example's own by alpha at inference
/// (default 0); a per-example set always uses the example's own.
/// </summary>
public sealed class HeterologousNorm : NormalizationLayer
{
    private readonly PixelSetStatistics meanStatistics, stdStatistics;

    /// <inheritdoc cref="BatchNorm(long, double, double)"/>
    /// <param name="meanSet">The set the mean comes from: BN, IN, LN, GN(G) or EN(G); default BN (<see cref="PixelSet.Batch"/>).</param>
    /// <param name="stdSet">The set the standard deviation comes from, as <paramref name="meanSet"/>; default EN(1).</param>
    /// <exception cref="ArgumentException">A set of chunks (ghost, BGN), or one whose groups do not divide C (the message lists those that do).</exception>
    public HeterologousNorm(long channels, PixelSet? meanSet = null, PixelSet? stdSet = null, double eps = DefaultEps, double momentum = DefaultMomentum)
        : base("HeterologousNorm", channels, eps, momentum, defaultAlpha: 0)
    {
        MeanSet = meanSet ?? PixelSet.Batch;
        StdSet = stdSet ?? PixelSet.Extended(NormalizerFactory.DefaultExtendedNormGroups);
        meanStatistics = Track(MeanSet, "mean_set_");
        stdStatistics = Track(StdSet, "std_set_");
    }

    /// <summary>The set the mean comes from.</summary>
    public PixelSet MeanSet { get; }

    /// <summary>The set the standard deviation comes from.</summary>
    public PixelSet StdSet { get; }

    /// <summary>The statistics the mean comes from.</summary>
    internal PixelSetStatistics MeanStatistics => meanStatistics;

    /// <summary>The statistics the standard deviation comes from.</summary>
    internal PixelSetStatistics StdStatistics => stdStatistics;

    public override bool HasRunningStatistics => MeanSet.IsBatchDependent || StdSet.IsBatchDependent;

    private protected override string Settings => $"mean_set={MeanSet}, std_set={StdSet}";

    private protected override bool InferenceStatisticsAreFixed(double alpha) =>
        meanStatistics.IsFixedAtInference(alpha) && stdStatistics.IsFixedAtInference(alpha);

    private PixelSetStatistics Track(PixelSet set, string prefix)
    {
        if (set.Examples == ExampleGrouping.Chunks)
            throw new ArgumentException($"{LayerName}: {set} is not one of the heterologous sets BN, IN, LN, GN(G), EN(G).", nameof(set));
        set.CheckChannels(LayerName, Channels);
        return set.IsBatchDependent
            ? new(set, RunningStatisticsKind.PerSet, RegisterRunningMoments(set.GroupCount(Channels), prefix))
            : new(set, RunningStatisticsKind.None, null);
    }

    private protected override TableAlgebra TrainingTableAlgebra(long[] shape)
    {
        CheckTrainingSetSize(MeanSet, shape);
        CheckTrainingSetSize(StdSet, shape);
        return SetMixture.MeanAndStdSets(new(MeanSet), new(StdSet), [.. meanStatistics.TrainingUpdates(), .. stdStatistics.TrainingUpdates()]);
    }

    private protected override TableAlgebra InferenceTableAlgebra(long[] shape)
    {
        CheckInferenceSetSize(meanStatistics, shape);
        CheckInferenceSetSize(stdStatistics, shape);
        return SetMixture.MeanAndStdSets(meanStatistics.InferenceSource(Channels, Alpha), stdStatistics.InferenceSource(Channels, Alpha));
    }

    private protected override (Tensor Scale, Tensor Shift) Affine(CellMoments cells)
    {
        if (!training)
        {
            CheckInferenceSetSize(meanStatistics, cells.Shape);
            CheckInferenceSetSize(stdStatistics, cells.Shape);
            return AffineFor(cells, new(meanStatistics.Inference(cells, Alpha).Mean, stdStatistics.Inference(cells, Alpha).Var));
        }
        CheckTrainingSetSize(MeanSet, cells.Shape);
        CheckTrainingSetSize(StdSet, cells.Shape);
        return AffineFor(cells, new(meanStatistics.Training(cells, Momentum).Mean, stdStatistics.Training(cells, Momentum).Var));
    }
}
