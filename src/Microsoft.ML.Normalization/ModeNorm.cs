namespace MLNetNormalization.Normalization;

/// <summary>
/// Mode normalization ("Mode Normalization", arXiv:1810.05466, Alg. 1-2) with K modes. Gates
/// g[n,k] = softmax_k(W·mean_hw x[n,:] + b) (W: K x C, initialised 1/K + 0.01·N(0,1); b: 0) weigh each
/// example into the modes; each mode pools mean and variance per channel over the examples by those
/// weights, and y = gamma·Σ_k g[n,k]·(x - mu[k,c]) / sqrt(var[k,c] + eps) + beta. Running E[x] (0) and
/// E[x²] (1) per mode and channel, float64 whatever the layer's type (their difference would cancel in
/// float32), stand in at inference, var = E[x²] - E[x]² clamped at 0, mixed with
/// the example's own moments by alpha (default 0). K = 1 is BN in training.
/// </summary>
public sealed class ModeNorm : NormalizationLayer
{
    /// <inheritdoc cref="BatchNorm(long, double, double)"/>
    /// <param name="modes">K, the modes (default 2, the paper's), at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">K below 1.</exception>
    public ModeNorm(long channels, int modes = NormalizerFactory.DefaultModes, double eps = DefaultEps, double momentum = DefaultMomentum)
        : base("ModeNorm", channels, eps, momentum, defaultAlpha: 0)
    {
        if (modes < 1) throw new ArgumentOutOfRangeException(nameof(modes), modes, "ModeNorm: the number of modes K must be >= 1.");
        Modes = modes;
        register_parameter("gate_weight", new Parameter(nn.init.normal_(empty(modes, channels), 1.0 / modes, 0.01)));
        register_parameter("gate_bias", new Parameter(zeros(modes)));
        RegisterRunningStatistic("running_mean", [modes, channels], 0);
        RegisterRunningStatistic("running_mean_square", [modes, channels], 1);
    }

    /// <summary>K, the modes.</summary>
    public int Modes { get; }

    /// <summary>W, [K, C] (state_dict "gate_weight").</summary>
    public Parameter GateWeight => ParameterNamed("gate_weight");

    /// <summary>b, [K] (state_dict "gate_bias").</summary>
    public Parameter GateBias => ParameterNamed("gate_bias");

    public override bool HasRunningStatistics => true;

    private protected override string Settings => $"modes={Modes}";

    public override IEnumerable<Parameter> GatingParameters() => [GateWeight, GateBias];

    // The gates weigh the modes by the example's own channel means, even when the modes' moments are the
    // running ones; only a single mode's gate is 1 whatever the input.
    private protected override bool InferenceStatisticsAreFixed(double alpha) => Modes == 1 && alpha == 0;

    /// <summary>The gates g[n,k] of a batch, [N, K] float64.</summary>
    internal Tensor Gates(CellMoments cells) => softmax(GateLogits(cells), 1).to(ScalarType.Float64);

    // W·m[n,:] + b, [N, K] in the layer's type.
    private Tensor GateLogits(CellMoments cells) => nn.functional.linear(cells.Mean.to(GateWeight.dtype), GateWeight, GateBias);

    private protected override (Tensor Scale, Tensor Shift) Affine(CellMoments cells)
    {
        var logits = GateLogits(cells);
        var gates = softmax(logits, 1).to(ScalarType.Float64);
        MeanVar perMode;
        if (training)
        {
            CheckTrainingSetSize(PixelSet.Batch, cells.Shape);
            // Each mode's weights over the examples, g[n,k] / Σ_n g[n,k], normalized in log space: a mode
            // whose gates are all tiny still pools the examples by their relative weights (the MN paper's Alg. 1),
            // where dividing the gates by their ~0 sum would not. Its output share is tiny, but its running
            // moments are what inference uses for the examples that do go to it.
            var exampleWeights = softmax(nn.functional.log_softmax(logits, 1), 0).to(ScalarType.Float64);
            perMode = Pool.Weighted(cells.AsMeanVar, exampleWeights);
            UpdateRunning(perMode);
        }
        else
        {
            CheckInferenceSetSize(PixelSet.Batch, cells.Shape, exampleAlone: Alpha == 1, keepsRunningStatistics: true);
            perMode = Pool.MixWithRunning(
                new(cells.Mean.unsqueeze(1), cells.Var.unsqueeze(1)), RunningPerMode(), Alpha);
        }
        // Per mode k (rows [K, C] or, with alpha, [N, K, C]): A += g·gamma·s, B += g·gamma·(m - mu)·s.
        var inverseStd = (perMode.Var.clamp(min: 0) + Eps).rsqrt();
        var weighted = gates.unsqueeze(2) * inverseStd;
        var scale = weighted.sum(1) * Gamma();
        var shift = (weighted * (cells.Mean.unsqueeze(1) - perMode.Mean)).sum(1) * Gamma() + Beta();
        return (scale, shift);
    }

    private void UpdateRunning(MeanVar perMode)
    {
        using var noGrad = no_grad();
        var mean = perMode.Mean;
        // running + momentum·(batch - running), the momentum blend in one op.
        BufferNamed("running_mean").lerp_(mean, Momentum);
        BufferNamed("running_mean_square").lerp_(perMode.Var + mean.square(), Momentum);
    }

    private MeanVar RunningPerMode()
    {
        var mean = BufferNamed("running_mean").detach();
        var var = (BufferNamed("running_mean_square").detach() - mean.square()).clamp(min: 0);
        return new(mean.unsqueeze(0), var.unsqueeze(0));
    }
}
