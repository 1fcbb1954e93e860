using MLNetNormalization.Normalization.Core;
using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.NN;

namespace MLNetNormalization.Normalization;

/// <summary>
/// Switchable normalization (Luo et al.): mu = Σ softmax(mean logits)_i·mu_i and
/// var = Σ softmax(var logits)_i·var_i over i ∈ {IN, LN, BN}, the logits initialised equal. As in its
/// reference code the IN variance is unbiased (÷ (H·W - 1)) and LN and BN pool the IN moments. The BN
/// part keeps running mean and var per channel for inference, mixed with the example's own moments
/// by alpha (default 0).
/// </summary>
public sealed class SwitchableNorm : NormalizationLayer
{
    private readonly RunningMoments running;

    public SwitchableNorm(long channels, double eps = 1e-5, double momentum = 0.1)
        : base("SwitchableNorm", channels, eps, momentum, defaultAlpha: 0)
    {
        MeanLogits = RegisterParameter("mean_logits", Torch.Ones([3]));
        VarLogits = RegisterParameter("var_logits", Torch.Ones([3]));
        running = RegisterRunningMoments(channels);
    }

    /// <summary>Logits of the IN, LN and BN means.</summary>
    public Tensor MeanLogits { get; }

    /// <summary>Logits of the IN, LN and BN variances.</summary>
    public Tensor VarLogits { get; }

    public override bool HasRunningStatistics => true;

    public override IEnumerable<Tensor> GatingParameters() => [MeanLogits, VarLogits];

    // The IN and LN parts are the example's own statistics, whatever alpha weighs the BN part with.
    protected override bool InferenceStatisticsAreFixed(double alpha) => false;

    protected override (Tensor Scale, Tensor Shift) Affine(CellMoments cells)
    {
        // The unbiased IN variance needs two pixels per cell, in training and at inference alike.
        CheckTrainingSetSize(PixelSet.Instance, cells);
        var pixels = cells.PixelsPerCell;
        var instance = new MeanVar(cells.Mean, cells.Var.Mul(pixels / (double)(pixels - 1)));
        var layer = Pool.Equal(instance, 1, keepDim: true);
        MeanVar batch;
        if (IsTraining)
        {
            batch = Pool.Equal(instance, 0, keepDim: true);
            running.UpdateAsGiven(batch, Momentum);
        }
        else
        {
            var runningPerChannel = running.AsMeanVar;
            batch = Pool.MixWithRunning(instance, new(runningPerChannel.Mean.Unsqueeze(0), runningPerChannel.Var.Unsqueeze(0)), Alpha);
        }
        var meanWeights = Functional.Softmax(MeanLogits.To(ScalarType.Float64), 0);
        var varWeights = Functional.Softmax(VarLogits.To(ScalarType.Float64), 0);
        var mean = Mix(meanWeights, instance.Mean, layer.Mean, batch.Mean);
        var var = Mix(varWeights, instance.Var, layer.Var, batch.Var);
        return AffineFor(cells, new(mean, var));
    }

    private static Tensor Mix(Tensor weights, Tensor instance, Tensor layer, Tensor batch) =>
        instance.Mul(weights.Narrow(0, 0, 1)).Add(layer.Mul(weights.Narrow(0, 1, 1))).Add(batch.Mul(weights.Narrow(0, 2, 1)));
}
