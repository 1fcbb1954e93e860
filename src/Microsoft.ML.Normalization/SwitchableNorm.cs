namespace MLNetNormalization.Normalization;

/// <summary>
/// Switchable normalization (Luo, Ren and Peng, "Differentiable Learning-to-Normalize via Switchable Normalization",
/// ICLR 2019): mu = Σ softmax(mean logits)_i·mu_i and
/// var = Σ softmax(var logits)_i·var_i over i ∈ {IN, LN, BN}, the logits initialised equal. As in its
/// reference code the IN variance is unbiased (÷ (H·W - 1)) and LN and BN pool the IN moments. The BN
/// part keeps running mean and var per channel for inference, mixed with the example's own moments
/// by alpha (default 0).
/// </summary>
public sealed class SwitchableNorm : NormalizationLayer
{
    private readonly RunningMoments running;

    /// <inheritdoc cref="BatchNorm(long, double, double)"/>
    public SwitchableNorm(long channels, double eps = DefaultEps, double momentum = DefaultMomentum)
        : base("SwitchableNorm", channels, eps, momentum, defaultAlpha: 0)
    {
        register_parameter("mean_logits", new Parameter(ones(3)));
        register_parameter("var_logits", new Parameter(ones(3)));
        running = RegisterRunningMoments(channels);
    }

    /// <summary>Logits of the IN, LN and BN means.</summary>
    public Parameter MeanLogits => ParameterNamed("mean_logits");

    /// <summary>Logits of the IN, LN and BN variances.</summary>
    public Parameter VarLogits => ParameterNamed("var_logits");

    public override bool HasRunningStatistics => true;

    public override IEnumerable<Parameter> GatingParameters() => [MeanLogits, VarLogits];

    // The IN and LN parts are the example's own statistics, whatever alpha weighs the BN part with.
    private protected override bool InferenceStatisticsAreFixed(double alpha) => false;

    private protected override TableAlgebra TrainingTableAlgebra(long[] shape)
    {
        CheckTrainingSetSize(PixelSet.Instance, shape);
        return SetMixture.Switchable(MeanLogits, VarLogits, new(PixelSet.Batch), new RunningUpdate(PixelSet.Batch, running, AsGiven: true));
    }

    // The BN part at inference: each cell's own (unbiased) moments mixed with the running ones of its channel by alpha.
    private protected override TableAlgebra InferenceTableAlgebra(long[] shape)
    {
        CheckTrainingSetSize(PixelSet.Instance, shape);
        return SetMixture.Switchable(MeanLogits, VarLogits, new(PixelSet.Instance, (TableAffine.Read(running.Mean), TableAffine.Read(running.Var)), Alpha));
    }

    private protected override (Tensor Scale, Tensor Shift) Affine(CellMoments cells)
    {
        // The unbiased IN variance needs two pixels per cell, in training and at inference alike.
        CheckTrainingSetSize(PixelSet.Instance, cells.Shape);
        var pixels = cells.PixelsPerCell;
        var instance = new MeanVar(cells.Mean, cells.Var * (pixels / (double)(pixels - 1)));
        var layer = Pool.Equal(instance, 1, keepDim: true);
        MeanVar batch;
        if (training)
        {
            batch = Pool.Equal(instance, 0, keepDim: true);
            running.UpdateAsGiven(batch, Momentum);
        }
        else
        {
            var runningPerChannel = running.AsMeanVar;
            batch = Pool.MixWithRunning(instance, new(runningPerChannel.Mean.unsqueeze(0), runningPerChannel.Var.unsqueeze(0)), Alpha);
        }
        var meanWeights = softmax(MeanLogits.to(ScalarType.Float64), 0);
        var varWeights = softmax(VarLogits.to(ScalarType.Float64), 0);
        var mean = Mix(meanWeights, instance.Mean, layer.Mean, batch.Mean);
        var var = Mix(varWeights, instance.Var, layer.Var, batch.Var);
        return AffineFor(cells, new(mean, var));
    }

    private static Tensor Mix(Tensor weights, Tensor instance, Tensor layer, Tensor batch) =>
        instance * weights[0] + layer * weights[1] + batch * weights[2];
}
