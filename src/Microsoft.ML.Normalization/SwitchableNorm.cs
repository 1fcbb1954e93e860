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

    // Each mixture's gradient goes to its three sources and to their weights' logits (softmax's backward); the LN and BN
    // sources pool the IN moments (Chan's backward, as for the pixel sets), at inference the BN source mixes them with the
    // running moments by alpha.
    private protected override CellAffineBackward WrittenOutBackward()
    {
        var (inTraining, alpha) = (training, Alpha);
        return (cells, gradScale, gradShift) =>
        {
            var pixels = cells.PixelsPerCell;
            var unbias = pixels / (double)(pixels - 1);
            var instance = new MeanVar(cells.Mean, cells.Var * unbias);
            var layer = Pool.Equal(instance, 1, keepDim: true);
            var runningPerChannel = running.AsMeanVar;
            var runningRow = new MeanVar(runningPerChannel.Mean.unsqueeze(0), runningPerChannel.Var.unsqueeze(0));
            var batch = inTraining ? Pool.Equal(instance, 0, keepDim: true) : Pool.MixWithRunning(instance, runningRow, alpha);
            var meanWeights = softmax(MeanLogits.to(ScalarType.Float64), 0);
            var varWeights = softmax(VarLogits.to(ScalarType.Float64), 0);
            var normalizing = new MeanVar(Mix(meanWeights, instance.Mean, layer.Mean, batch.Mean), Mix(varWeights, instance.Var, layer.Var, batch.Var));
            var affine = AffineForBackward(cells, normalizing, gradScale, gradShift);
            var (gradMu, gradVar) = (affine.NormalizingMean, affine.NormalizingVar);

            // The three sources' gradients, and the logits' through softmax: w·(g_w - Σ w·g_w).
            var gradMeanWeights = stack([(gradMu * instance.Mean).sum(), (gradMu * layer.Mean).sum(), (gradMu * batch.Mean).sum()]);
            var gradVarWeights = stack([(gradVar * instance.Var).sum(), (gradVar * layer.Var).sum(), (gradVar * batch.Var).sum()]);
            var gradMeanLogits = meanWeights * (gradMeanWeights - (meanWeights * gradMeanWeights).sum());
            var gradVarLogits = varWeights * (gradVarWeights - (varWeights * gradVarWeights).sum());

            var toInstance = new MeanVar(gradMu * meanWeights[0], gradVar * varWeights[0]);
            var toLayer = new MeanVar((gradMu * meanWeights[1]).mean([1], keepdim: true), (gradVar * varWeights[1]).mean([1], keepdim: true));
            var toBatch = new MeanVar(gradMu * meanWeights[2], gradVar * varWeights[2]);
            // LN: Chan's pooling over the channels (its mean gradient spread back, 2(m - m_l) for the variance of the means).
            var gradMean = toInstance.Mean + toLayer.Mean + toLayer.Var * (instance.Mean - layer.Mean) * 2;
            var gradInstanceVar = toInstance.Var + toLayer.Var;
            if (inTraining)
            {
                var pooled = new MeanVar(toBatch.Mean.mean([0], keepdim: true), toBatch.Var.mean([0], keepdim: true));
                gradMean = gradMean + pooled.Mean + pooled.Var * (instance.Mean - batch.Mean) * 2;
                gradInstanceVar = gradInstanceVar + pooled.Var;
            }
            else
            {
                var mixed = Pool.MixWithRunningBackward(instance, runningRow, alpha, toBatch);
                gradMean = gradMean + mixed.Mean;
                gradInstanceVar = gradInstanceVar + mixed.Var;
            }
            return new(gradMean + affine.CellMean, gradInstanceVar * unbias,
                       [affine.Gamma, affine.Beta, gradMeanLogits.to(MeanLogits.dtype), gradVarLogits.to(VarLogits.dtype)]);
        };
    }
}
