using MLNetNormalization.Normalization.Core;
using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.NN;

namespace MLNetNormalization.Normalization;

/// <summary>
/// Mode normalization (seed "mode normalization", Alg. 1-2) with K modes. Gates
/// g[n,k] = softmax_k(W·mean_hw x[n,:] + b) (W: K x C, initialised 1/K + 0.01·N(0,1); b: 0) weigh each
/// example into the modes; each mode pools mean and variance per channel over the examples by those
/// weights, and y = gamma·Σ_k g[n,k]·(x - mu[k,c]) / sqrt(var[k,c] + eps) + beta. Running E[x] (0) and
/// E[x²] (1) per mode and channel, float64 whatever the layer's type (their difference would cancel in
/// float32), stand in at inference, var = E[x²] - E[x]² clamped at 0, mixed with
/// the example's own moments by alpha (default 0). K = 1 is BN in training.
/// </summary>
public sealed class ModeNorm : NormalizationLayer
{
    private readonly Tensor runningMean, runningMeanSquare;

    public ModeNorm(long channels, int modes = 2, double eps = 1e-5, double momentum = 0.1)
        : base("ModeNorm", channels, eps, momentum, defaultAlpha: 0)
    {
        if (modes < 1) throw new ArgumentOutOfRangeException(nameof(modes), modes, "ModeNorm: the number of modes K must be >= 1.");
        Modes = modes;
        GateWeight = RegisterParameter("gate_weight", Init.Normal(Torch.Zeros([modes, channels]), 1.0 / modes, 0.01));
        GateBias = RegisterParameter("gate_bias", Torch.Zeros([modes]));
        runningMean = RegisterRunningStatistic("running_mean", [modes, channels], 0);
        runningMeanSquare = RegisterRunningStatistic("running_mean_square", [modes, channels], 1);
    }

    public int Modes { get; }
    public Tensor GateWeight { get; }
    public Tensor GateBias { get; }

    public override bool HasRunningStatistics => true;

    public override IEnumerable<Tensor> GatingParameters() => [GateWeight, GateBias];

    // The gates weigh the modes by the example's own channel means, even when the modes' moments are the
    // running ones; only a single mode's gate is 1 whatever the input.
    protected override bool InferenceStatisticsAreFixed(double alpha) => Modes == 1 && alpha == 0;

    /// <summary>The gates g[n,k] of a batch, [N, K] float64.</summary>
    public Tensor Gates(CellMoments cells) => Functional.Softmax(GateLogits(cells), 1).To(ScalarType.Float64);

    // W·m[n,:] + b, [N, K] in the layer's type.
    private Tensor GateLogits(CellMoments cells) => Functional.Linear(cells.Mean.To(GateWeight.Type), GateWeight, GateBias);

    protected override (Tensor Scale, Tensor Shift) Affine(CellMoments cells)
    {
        var logits = GateLogits(cells);
        var gates = Functional.Softmax(logits, 1).To(ScalarType.Float64);
        MeanVar perMode;
        if (IsTraining)
        {
            CheckTrainingSetSize(PixelSet.Batch, cells);
            // Each mode's weights over the examples, g[n,k] / Σ_n g[n,k], normalized in log space: a mode
            // whose gates are all tiny still pools the examples by their relative weights (seed Alg. 1),
            // where dividing the gates by their ~0 sum would not. Its output share is tiny, but its running
            // moments are what inference uses for the examples that do go to it.
            var exampleWeights = Functional.Softmax(Functional.LogSoftmax(logits, 1), 0).To(ScalarType.Float64);
            perMode = Pool.Weighted(cells.AsMeanVar, exampleWeights);
            UpdateRunning(perMode);
        }
        else
        {
            perMode = Pool.MixWithRunning(
                new(cells.Mean.Unsqueeze(1), cells.Var.Unsqueeze(1)), RunningPerMode(), Alpha);
        }
        // Per mode k (rows [K, C] or, with alpha, [N, K, C]): A += g·gamma·s, B += g·gamma·(m - mu)·s.
        var inverseStd = perMode.Var.Clamp(min: 0).Add(Eps).Rsqrt();
        var weighted = gates.Unsqueeze(2).Mul(inverseStd);
        var scale = weighted.Sum([1]).Mul(Gamma());
        var shift = weighted.Mul(cells.Mean.Unsqueeze(1).Sub(perMode.Mean)).Sum([1]).Mul(Gamma()).Add(Beta());
        return (scale, shift);
    }

    private void UpdateRunning(MeanVar perMode)
    {
        using var noGrad = Torch.NoGrad();
        var mean = perMode.Mean.Detach();
        var meanSquare = perMode.Var.Detach().Add(mean.Square());
        runningMean.MulInPlace(1 - Momentum).AddInPlace(mean, Momentum);
        runningMeanSquare.MulInPlace(1 - Momentum).AddInPlace(meanSquare, Momentum);
    }

    private MeanVar RunningPerMode()
    {
        var mean = runningMean.Detach();
        var var = runningMeanSquare.Detach().Sub(mean.Square()).Clamp(min: 0);
        return new(mean.Unsqueeze(0), var.Unsqueeze(0));
    }
}
