using MLNetNormalization.Normalization.Core;
using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.NN;

namespace MLNetNormalization.Normalization;

/// <summary>
/// Mode group normalization (seed "mode normalization", Alg. 3 and eq. 5) with K modes. Per example,
/// each channel is gated into the modes by g[n,c,k] = softmax_k(a_k·m[n,c] + b_k) (a: 1/K + 0.01·N(0,1),
/// b: 0), each mode pools mean and variance over the channels by those weights, and
/// y = gamma[c]/K · Σ_k (x - mu[n,k]) / sqrt(var[n,k] + eps) + beta[c] (eq. 5: an unweighted mean over
/// modes; <see cref="GateWeightedOutput"/> weighs mode k by g[n,c,k] instead). No batch statistics:
/// training and inference compute the same; running moments per channel allow alpha &lt; 1 (default 1).
/// </summary>
public sealed class ModeGroupNorm : NormalizationLayer
{
    private readonly RunningMoments running;

    public ModeGroupNorm(long channels, int modes = 2, bool gateWeightedOutput = false, double eps = 1e-5, double momentum = 0.1)
        : base("ModeGroupNorm", channels, eps, momentum, defaultAlpha: 1)
    {
        if (modes < 1) throw new ArgumentOutOfRangeException(nameof(modes), modes, "ModeGroupNorm: the number of modes K must be >= 1.");
        Modes = modes;
        GateWeightedOutput = gateWeightedOutput;
        GateScale = RegisterParameter("gate_scale", Init.Normal(Torch.Zeros([modes]), 1.0 / modes, 0.01));
        GateShift = RegisterParameter("gate_shift", Torch.Zeros([modes]));
        running = RegisterRunningMoments(channels);
    }

    public int Modes { get; }
    public bool GateWeightedOutput { get; }
    public Tensor GateScale { get; }
    public Tensor GateShift { get; }

    public override bool HasRunningStatistics => true;

    public override IEnumerable<Tensor> GatingParameters() => [GateScale, GateShift];

    // The gates pool the channels by the example's own cell means, even when the moments pooled are the
    // running ones; only with a single mode are the gates 1 and the channel weights 1/C whatever the input.
    protected override bool InferenceStatisticsAreFixed(double alpha) => Modes == 1 && alpha == 0;

    /// <summary>The gates g[n,c,k] of a batch, [N, C, K] float64.</summary>
    public Tensor Gates(CellMoments cells) => Functional.Softmax(GateLogits(cells), 2);

    // a_k·m[n,c] + b_k, [N, C, K] float64.
    private Tensor GateLogits(CellMoments cells) =>
        cells.Mean.Unsqueeze(2).Mul(GateScale.To(ScalarType.Float64)).Add(GateShift.To(ScalarType.Float64));

    protected override (Tensor Scale, Tensor Shift) Affine(CellMoments cells)
    {
        var logits = GateLogits(cells);
        // Each mode's weights over the channels, g[n,c,k] / Σ_c g[n,c,k], normalized in log space: a mode
        // whose gates are all tiny (collapsed) still pools the channels by their relative weights, where
        // dividing the gates by their ~0 sum would not. Eq. 5 weighs every mode's output equally, so a
        // collapsed mode's statistics must stay right, not merely finite.
        var channelWeights = Functional.Softmax(Functional.LogSoftmax(logits, 2), 1);
        var perChannel = new MeanVar(cells.Mean.Unsqueeze(2), cells.Var.Unsqueeze(2));
        var perMode = Squeeze(Pool.Weighted(perChannel, channelWeights));
        if (IsTraining)
        {
            CheckTrainingSetSize(PixelSet.Layer, cells);
            running.Update(PixelSet.Batch.PoolSets(cells), cells.N * cells.PixelsPerCell, Momentum);
        }
        else if (Alpha < 1)
        {
            var runningPerChannel = running.AsMeanVar;
            var runningSets = Squeeze(Pool.Weighted(
                new(runningPerChannel.Mean.View(1, Channels, 1).Expand(cells.N, Channels, 1),
                    runningPerChannel.Var.View(1, Channels, 1).Expand(cells.N, Channels, 1)), channelWeights));
            perMode = Pool.MixWithRunning(perMode, runningSets, Alpha);
        }
        // [N, C, K] weights of the modes in each channel's output: 1/K (eq. 5) or the gates.
        var modeWeights = GateWeightedOutput ? Functional.Softmax(logits, 2) : Torch.Full([1, 1, Modes], 1.0 / Modes, ScalarType.Float64);
        var weighted = modeWeights.Mul(perMode.Var.Clamp(min: 0).Add(Eps).Rsqrt().Unsqueeze(1));
        var scale = weighted.Sum([2]).Mul(Gamma());
        var shift = weighted.Mul(cells.Mean.Unsqueeze(2).Sub(perMode.Mean.Unsqueeze(1))).Sum([2]).Mul(Gamma()).Add(Beta());
        return (scale, shift);
    }

    // [N, K, 1] pooled moments as [N, K].
    private static MeanVar Squeeze(MeanVar moments) => new(moments.Mean.Squeeze(2), moments.Var.Squeeze(2));
}
