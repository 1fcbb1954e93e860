namespace MLNetNormalization.Normalization;

/// <summary>
/// Mode group normalization ("Mode Normalization", arXiv:1810.05466, Alg. 3 and eq. 5) with K modes. Per example,
/// each channel is gated into the modes by g[n,c,k] = softmax_k(a_k·m[n,c] + b_k) (a: 1/K + 0.01·N(0,1),
/// b: 0), each mode pools mean and variance over the channels by those weights, and
/// y = gamma[c]/K · Σ_k (x - mu[n,k]) / sqrt(var[n,k] + eps) + beta[c] (eq. 5: an unweighted mean over
/// modes; <see cref="GateWeightedOutput"/> weighs mode k by g[n,c,k] instead). No batch statistics:
/// training and inference compute the same; running moments per channel allow alpha &lt; 1 (default 1).
/// </summary>
public sealed class ModeGroupNorm : NormalizationLayer
{
    private readonly RunningMoments running;

    /// <inheritdoc cref="BatchNorm(long, double, double)"/>
    /// <param name="modes">K, the modes (default 2, the paper's), at least 1.</param>
    /// <param name="gateWeightedOutput">Weigh mode k's output by the gates instead of 1/K (default false: eq. 5).</param>
    /// <exception cref="ArgumentOutOfRangeException">K below 1.</exception>
    public ModeGroupNorm(long channels, int modes = NormalizerFactory.DefaultModes, bool gateWeightedOutput = false, double eps = DefaultEps, double momentum = DefaultMomentum)
        : base("ModeGroupNorm", channels, eps, momentum, defaultAlpha: 1)
    {
        if (modes < 1) throw new ArgumentOutOfRangeException(nameof(modes), modes, "ModeGroupNorm: the number of modes K must be >= 1.");
        Modes = modes;
        GateWeightedOutput = gateWeightedOutput;
        register_parameter("gate_scale", new Parameter(nn.init.normal_(empty(modes), 1.0 / modes, 0.01)));
        register_parameter("gate_shift", new Parameter(zeros(modes)));
        running = RegisterRunningMoments(channels);
    }

    /// <summary>K, the modes.</summary>
    public int Modes { get; }

    /// <summary>Whether mode k's output is weighed by the gates rather than 1/K.</summary>
    public bool GateWeightedOutput { get; }

    /// <summary>a, [K] (state_dict "gate_scale").</summary>
    public Parameter GateScale => ParameterNamed("gate_scale");

    /// <summary>b, [K] (state_dict "gate_shift").</summary>
    public Parameter GateShift => ParameterNamed("gate_shift");

    public override bool HasRunningStatistics => true;

    private protected override string Settings => $"modes={Modes}, gate_weighted_output={GateWeightedOutput}";

    public override IEnumerable<Parameter> GatingParameters() => [GateScale, GateShift];

    // The gates pool the channels by the example's own cell means, even when the moments pooled are the
    // running ones; only with a single mode are the gates 1 and the channel weights 1/C whatever the input.
    private protected override bool InferenceStatisticsAreFixed(double alpha) => Modes == 1 && alpha == 0;

    /// <summary>The gates g[n,c,k] of a batch, [N, C, K] float64.</summary>
    internal Tensor Gates(CellMoments cells) => softmax(GateLogits(cells), 2);

    // a_k·m[n,c] + b_k, [N, C, K] float64.
    private Tensor GateLogits(CellMoments cells) =>
        cells.Mean.unsqueeze(2) * GateScale.to(ScalarType.Float64) + GateShift.to(ScalarType.Float64);

    private protected override (Tensor Scale, Tensor Shift) Affine(CellMoments cells)
    {
        var logits = GateLogits(cells);
        // Each mode's weights over the channels, g[n,c,k] / Σ_c g[n,c,k], normalized in log space: a mode
        // whose gates are all tiny (collapsed) still pools the channels by their relative weights, where
        // dividing the gates by their ~0 sum would not. Eq. 5 weighs every mode's output equally, so a
        // collapsed mode's statistics must stay right, not merely finite.
        var channelWeights = softmax(nn.functional.log_softmax(logits, 2), 1);
        var perChannel = new MeanVar(cells.Mean.unsqueeze(2), cells.Var.unsqueeze(2));
        var perMode = Squeeze(Pool.Weighted(perChannel, channelWeights));
        if (training)
        {
            CheckTrainingSetSize(PixelSet.Layer, cells.Shape);
            running.Update(PixelSet.Batch.PoolSets(cells), cells.N * cells.PixelsPerCell, Momentum);
        }
        else if (Alpha == 1)
        {
            CheckInferenceSetSize(PixelSet.Layer, cells.Shape, exampleAlone: true, keepsRunningStatistics: true);
        }
        else
        {
            var runningPerChannel = running.AsMeanVar;
            var runningSets = Squeeze(Pool.Weighted(
                new(runningPerChannel.Mean.view(1, Channels, 1).expand(cells.N, Channels, 1),
                    runningPerChannel.Var.view(1, Channels, 1).expand(cells.N, Channels, 1)), channelWeights));
            perMode = Pool.MixWithRunning(perMode, runningSets, Alpha);
        }
        // [N, C, K] weights of the modes in each channel's output: 1/K (eq. 5) or the gates.
        var modeWeights = GateWeightedOutput ? softmax(logits, 2) : full([1, 1, Modes], 1.0 / Modes, ScalarType.Float64, logits.device);
        var weighted = modeWeights * (perMode.Var.clamp(min: 0) + Eps).rsqrt().unsqueeze(1);
        var scale = weighted.sum(2) * Gamma();
        var shift = (weighted * (cells.Mean.unsqueeze(2) - perMode.Mean.unsqueeze(1))).sum(2) * Gamma() + Beta();
        return (scale, shift);
    }

    // [N, K, 1] pooled moments as [N, K].
    private static MeanVar Squeeze(MeanVar moments) => new(moments.Mean.squeeze(2), moments.Var.squeeze(2));
}
