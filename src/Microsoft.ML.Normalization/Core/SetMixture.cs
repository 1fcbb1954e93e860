namespace MLNetNormalization.Normalization.Core;

/// <summary>
/// One pixel set of a <see cref="SetMixture"/>: the set its cells pool over and, at inference, the running moments per
/// channel group that its statistics are mixed with by <paramref name="Alpha"/> (<see cref="Pool.MixWithRunning"/>);
/// without them, the set's own statistics.
/// </summary>
internal sealed record SetSource(PixelSet Set, (double[] Mean, double[] Var)? RunningPerGroup = null, double Alpha = 1);

/// <summary>
/// The algebra of a layer whose normalizing mean and variance are mixtures of pixel-set statistics: with (mu_k, var_k)
/// the statistics of a cell's set in source k, pooled from the cell moments (m, f·v) by Chan's combination (at
/// inference mixed with the running moments by alpha), M = Σ a_k·mu_k and V = Σ b_k·var_k, the cell's affine is
/// A = gamma·(max(V, 0) + eps)^(-1/2) and B = (m - M)·A + beta. One set with a = b = 1 is BN, ghost BN, BGN, EN, GN, LN
/// and IN; a mean set and a std set is HN; IN, LN and BN of the unbiased cell variances (f = L/(L - 1)) mixed by
/// softmax(logits) is SN. The backward is the training algebra's (no source mixed with running moments).
/// </summary>
internal sealed class SetMixture : TableAlgebra
{
    private readonly SetSource[] sources;
    private readonly Mixture meanMixture, varMixture;
    private readonly bool unbiasedCells;
    private readonly RunningUpdate[] runningUpdates;

    private SetMixture(SetSource[] sources, Mixture meanMixture, Mixture varMixture, bool unbiasedCells, RunningUpdate[] runningUpdates)
    {
        this.sources = sources;
        this.meanMixture = meanMixture;
        this.varMixture = varMixture;
        this.unbiasedCells = unbiasedCells;
        this.runningUpdates = runningUpdates;
        Gating = new[] { meanMixture.Logits, varMixture.Logits }.OfType<Parameter>().ToArray();
    }

    /// <summary>Mean and variance of one pixel set (BN, ghost BN, BGN, EN, GN, LN, IN).</summary>
    public static SetMixture OneSet(SetSource source, params RunningUpdate[] running) =>
        new([source], Mixture.Fixed(1), Mixture.Fixed(1), unbiasedCells: false, running);

    /// <summary>The mean of one pixel set and the variance of another (HN).</summary>
    public static SetMixture MeanAndStdSets(SetSource meanSource, SetSource stdSource, params RunningUpdate[] running) =>
        new([meanSource, stdSource], Mixture.Fixed(1, 0), Mixture.Fixed(0, 1), unbiasedCells: false, running);

    /// <summary>
    /// IN, LN and BN statistics of the unbiased cell variances, mixed by softmax(logits) (SN); <paramref name="batch"/>
    /// is the BN source (BN in training; at inference IN mixed with the running moments).
    /// </summary>
    public static SetMixture Switchable(Parameter meanLogits, Parameter varLogits, SetSource batch, params RunningUpdate[] running) =>
        new([new(PixelSet.Instance), new(PixelSet.Layer), batch], Mixture.Learned(meanLogits), Mixture.Learned(varLogits), unbiasedCells: true, running);

    public override IReadOnlyList<Parameter> Gating { get; }

    public override TableForward Forward(CellTables cells, AffineSettings affine)
    {
        var spreadFactor = unbiasedCells ? cells.Pixels / (double)(cells.Pixels - 1) : 1;
        var cellSpread = Array.ConvertAll(cells.Var, value => value * spreadFactor);
        var partitions = sources.Select(source => new CellPartition(source.Set, cells.Examples, cells.Channels)).ToArray();
        var pooled = partitions.Select((partition, k) => MixedWithRunning(sources[k], partition.Pool(cells.Mean, cellSpread))).ToArray();
        var (a, b) = (meanMixture.Weights(), varMixture.Weights());
        var (mean, var, scale, shift) = (new double[cells.Count], new double[cells.Count], new double[cells.Count], new double[cells.Count]);
        for (var i = 0; i < cells.Count; i++)
        {
            var c = i % cells.Channels;
            for (var k = 0; k < sources.Length; k++)
            {
                var s = partitions[k].SetOf[i];
                mean[i] += a[k] * pooled[k].Mean[s];
                var[i] += b[k] * pooled[k].Var[s];
            }
            scale[i] = affine.Gamma[c] * InverseStd(var[i], affine.Eps).Rsqrt;
            shift[i] = (cells.Mean[i] - mean[i]) * scale[i] + affine.Beta[c];
        }
        foreach (var update in runningUpdates)
        {
            var k = Array.FindIndex(sources, source => source.Set == update.Set && source.RunningPerGroup is null);
            var partition = k >= 0 ? partitions[k] : new CellPartition(update.Set, cells.Examples, cells.Channels);
            var (setMean, setVar) = k >= 0 ? pooled[k] : partition.Pool(cells.Mean, cellSpread);
            // The sets with running moments span every example, so they are equally large.
            update.FoldIn(setMean, setVar, partition.CellsPerSet[0] * cells.Pixels, affine.Momentum);
        }
        return new MixtureForward(cells, affine, scale, shift, partitions, pooled, a, b, mean, var);
    }

    public override TableGradients Backward(TableForward result, double[] gradScale, double[] gradShift)
    {
        if (sources.Any(source => source.RunningPerGroup is not null))
            throw new InvalidOperationException("The inference statistics' table algebra has no backward; take the general path where a gradient is wanted.");
        var forward = (MixtureForward)result;
        var (cells, affine) = (forward.Cells, forward.Affine);
        var (gradMean, gradVar) = (new double[cells.Count], new double[cells.Count]);
        var (gradMixedMean, gradMixedVar) = (new double[cells.Count], new double[cells.Count]);
        var (gradGamma, gradBeta) = (new double[cells.Channels], new double[cells.Channels]);
        for (var i = 0; i < cells.Count; i++)
        {
            var c = i % cells.Channels;
            var (r, derivative) = InverseStd(forward.Var[i], affine.Eps);
            // A enters y directly and through B = (m - M)·A + beta.
            var gradFullScale = gradScale[i] + gradShift[i] * (cells.Mean[i] - forward.Mean[i]);
            gradBeta[c] += gradShift[i];
            gradGamma[c] += gradFullScale * r;
            gradMixedVar[i] = gradFullScale * affine.Gamma[c] * derivative;
            gradMixedMean[i] = -gradShift[i] * forward.Scale[i];
        }
        var spreadFactor = unbiasedCells ? cells.Pixels / (double)(cells.Pixels - 1) : 1;
        var (gradMeanWeights, gradVarWeights) = (new double[sources.Length], new double[sources.Length]);
        for (var k = 0; k < sources.Length; k++)
        {
            var partition = forward.Partitions[k];
            var (setMean, setVar) = forward.Pooled[k];
            for (var i = 0; i < cells.Count; i++)
            {
                gradMeanWeights[k] += gradMixedMean[i] * setMean[partition.SetOf[i]];
                gradVarWeights[k] += gradMixedVar[i] * setVar[partition.SetOf[i]];
            }
            // mu = mean of the set's m; var = mean of (f·v + (m - mu)²), whose derivative in m is 2(m - mu)/count.
            var gradSetMean = partition.SumPerSet(gradMixedMean);
            var gradSetVar = partition.SumPerSet(gradMixedVar);
            for (var i = 0; i < cells.Count; i++)
            {
                var s = partition.SetOf[i];
                var count = (double)partition.CellsPerSet[s];
                var gradOfSetVar = forward.VarWeights[k] * gradSetVar[s] / count;
                gradMean[i] += forward.MeanWeights[k] * gradSetMean[s] / count + gradOfSetVar * 2 * (cells.Mean[i] - setMean[s]);
                gradVar[i] += gradOfSetVar * spreadFactor;
            }
        }
        var gating = new List<double[]>();
        if (meanMixture.Logits is not null) gating.Add(Mixture.SoftmaxBackward(forward.MeanWeights, gradMeanWeights));
        if (varMixture.Logits is not null) gating.Add(Mixture.SoftmaxBackward(forward.VarWeights, gradVarWeights));
        return new(gradMean, gradVar, gradGamma, gradBeta, gating);
    }

    // The sets' statistics mixed with the running moments of their channel groups (sets are numbered [example groups,
    // channel groups]).
    private static (double[] Mean, double[] Var) MixedWithRunning(SetSource source, (double[] Mean, double[] Var) pooled)
    {
        if (source.RunningPerGroup is not { } running) return pooled;
        var (alpha, groups) = (source.Alpha, running.Mean.Length);
        var (mean, var) = (new double[pooled.Mean.Length], new double[pooled.Mean.Length]);
        for (var s = 0; s < mean.Length; s++)
            (mean[s], var[s]) = MixWithRunning(pooled.Mean[s], pooled.Var[s], running.Mean[s % groups], running.Var[s % groups], alpha);
        return (mean, var);
    }

    private sealed record MixtureForward(
        CellTables Cells, AffineSettings Affine, double[] Scale, double[] Shift, CellPartition[] Partitions,
        (double[] Mean, double[] Var)[] Pooled, double[] MeanWeights, double[] VarWeights, double[] Mean, double[] Var)
        : TableForward(Cells, Affine, Scale, Shift);

    /// <summary>Weights over the sets: fixed, or the softmax of a logits parameter.</summary>
    private sealed record Mixture(double[]? FixedWeights, Parameter? Logits)
    {
        public static Mixture Fixed(params double[] weights) => new(weights, null);

        public static Mixture Learned(Parameter logits) => new(null, logits);

        public double[] Weights() => FixedWeights ?? Softmax(Values(Logits!));

        // exp(z - max z) / Σ exp(z - max z), as libtorch's softmax.
        private static double[] Softmax(double[] logits)
        {
            var largest = logits.Max();
            var exp = Array.ConvertAll(logits, logit => Math.Exp(logit - largest));
            var total = exp.Sum();
            return Array.ConvertAll(exp, value => value / total);
        }

        // gz_j = a_j·(ga_j - Σ_l a_l·ga_l).
        public static double[] SoftmaxBackward(double[] weights, double[] gradWeights)
        {
            var dot = weights.Zip(gradWeights, (weight, grad) => weight * grad).Sum();
            return weights.Select((weight, j) => weight * (gradWeights[j] - dot)).ToArray();
        }
    }
}
