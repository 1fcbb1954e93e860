using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.NN;

namespace MLNetNormalization.Normalization.Core;

/// <summary>
/// What every normalizer shares (spec section 1): per-(n, c) moments of the input, a small float64
/// statistics algebra done by the layer, then one per-(n, c) affine y = (x - m)·A + B, centred on the
/// cell's own mean. The base owns the affine parameters gamma ("weight", 1) and beta ("bias", 0), eps,
/// momentum, the inference example weight alpha, and the input checks.
/// </summary>
public abstract class NormalizationLayer : Module
{
    private double alpha;

    protected NormalizationLayer(string layerName, long channels, double eps, double momentum, double defaultAlpha)
    {
        LayerName = layerName;
        if (channels <= 0) throw new ArgumentOutOfRangeException(nameof(channels), channels, $"{layerName}: the channel count must be positive.");
        if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"{layerName}: eps must be positive.");
        if (momentum is < 0 or > 1 || double.IsNaN(momentum))
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, $"{layerName}: momentum must be in [0, 1].");
        Channels = channels;
        Eps = eps;
        Momentum = momentum;
        DefaultAlpha = defaultAlpha;
        alpha = defaultAlpha;
        Weight = RegisterParameter("weight", Torch.Ones([channels]));
        Bias = RegisterParameter("bias", Torch.Zeros([channels]));
    }

    public string LayerName { get; }
    public long Channels { get; }
    public double Eps { get; }
    public double Momentum { get; }

    /// <summary>gamma, per channel.</summary>
    public Tensor Weight { get; }

    /// <summary>beta, per channel.</summary>
    public Tensor Bias { get; }

    /// <summary>The layer's own default alpha (spec: 0 for batch statistics, 1 for per-example ones, 1/B_g for BGN).</summary>
    public double DefaultAlpha { get; }

    /// <summary>
    /// Inference example weight in [0, 1]: how much an example's own statistics count against the
    /// running ones at inference. Settable after training; it changes nothing in training.
    /// </summary>
    public double Alpha
    {
        get => alpha;
        set
        {
            if (value is < 0 or > 1 || double.IsNaN(value))
                throw new ArgumentOutOfRangeException(nameof(value), value, $"{LayerName}: alpha must be in [0, 1] (0: running statistics only, 1: the example's own only).");
            alpha = value;
        }
    }

    /// <summary>True when the layer keeps running statistics, so that alpha matters at inference.</summary>
    public abstract bool HasRunningStatistics { get; }

    /// <summary>
    /// True when, at inference with example weight <paramref name="alpha"/>, the layer normalizes with
    /// statistics taken from its own state (running statistics) whatever the input. Its evaluation output is
    /// then a fixed per-channel affine of the input, which can be folded into the convolution before it.
    /// </summary>
    protected abstract bool InferenceStatisticsAreFixed(double alpha);

    /// <summary>
    /// The layer's evaluation output written as y = x·<paramref name="scale"/>[c] + <paramref name="shift"/>[c]
    /// (float64 [C] tensors on the layer's device, not tracked by autograd) when it is a fixed per-channel
    /// affine: in evaluation mode, with statistics that do not depend on the input. Otherwise false, and
    /// <paramref name="whyNot"/> says why and what would make it one where something would.
    /// </summary>
    public bool TryGetInferenceAffine([NotNullWhen(true)] out Tensor? scale, [NotNullWhen(true)] out Tensor? shift,
                                      [NotNullWhen(false)] out string? whyNot)
    {
        (scale, shift, whyNot) = (null, null, null);
        if (IsTraining)
        {
            whyNot = $"{LayerName} is in training mode, where it normalizes with each batch's statistics; call Eval() first (folding is for inference).";
            return false;
        }
        if (!InferenceStatisticsAreFixed(Alpha))
        {
            whyNot = InferenceStatisticsAreFixed(0)
                ? $"{LayerName} weighs each example's own statistics in at inference (alpha = {Alpha.ToString(CultureInfo.InvariantCulture)}); " +
                  "set Alpha = 0 to normalize with the running statistics alone, which is a fixed affine."
                : $"{LayerName}'s statistics depend on the input, so its output is not a fixed per-channel affine.";
            return false;
        }
        using var noGrad = Torch.NoGrad();
        // With statistics (mu, var) that ignore the input, A = gamma/sqrt(var + eps) and B = (m - mu)·A + beta,
        // so y = (x - m)·A + B = x·A + (beta - mu·A) for every cell mean m. The layer's own algebra evaluated on
        // one example whose cell means are 0 therefore gives the scale A and the shift beta - mu·A exactly,
        // without a second, per-layer formula that could drift from Forward.
        var zeros = Torch.Zeros([1, Channels], ScalarType.Float64, Weight.Device);
        var (cellScale, cellShift) = Affine(CellMoments.FromTables(zeros, zeros, [1, Channels, 1, 1]));
        scale = cellScale.Reshape(Channels);
        shift = cellShift.Reshape(Channels);
        return true;
    }

    /// <summary>Parameters that shape the statistics rather than scale the output (MN gates, SN mixing weights); a trainer may decay them separately.</summary>
    public virtual IEnumerable<Tensor> GatingParameters() => [];

    public sealed override Tensor Forward(Tensor input)
    {
        CheckInput(input);
        var cells = CellMoments.Of(input);
        if (!cells.Mean.AllFinite() || !cells.Var.AllFinite())
            throw new ArgumentException(
                $"{LayerName}: the input {Describe(input.Shape)} contains NaN or infinite values; check the layers before it " +
                "(a learning rate that is too high is the usual cause).", nameof(input));
        var (scale, shift) = Affine(cells);
        return Functional.CenteredAffine(input, cells.Mean, scale, shift);
    }

    /// <summary>The per-cell affine (A, B) of y = (x - m)·A + B, as [N, C] float64 tables.</summary>
    protected abstract (Tensor Scale, Tensor Shift) Affine(CellMoments cells);

    /// <summary>gamma·(x - mu)/sqrt(var + eps) + beta, written as (x - m)·A + B for per-cell (mu, var).</summary>
    protected (Tensor Scale, Tensor Shift) AffineFor(CellMoments cells, MeanVar normalizing)
    {
        var scale = Gamma().Mul(normalizing.Var.Clamp(min: 0).Add(Eps).Rsqrt());
        return (scale, cells.Mean.Sub(normalizing.Mean).Mul(scale).Add(Beta()));
    }

    /// <summary>gamma as a [1, C] float64 row.</summary>
    protected Tensor Gamma() => Weight.To(ScalarType.Float64).Unsqueeze(0);

    /// <summary>beta as a [1, C] float64 row.</summary>
    protected Tensor Beta() => Bias.To(ScalarType.Float64).Unsqueeze(0);

    /// <summary>The affine of a layer that normalizes with one pixel set's statistics (BN, ghost BN, BGN, EN, GN, LN, IN).</summary>
    protected (Tensor Scale, Tensor Shift) SingleSetAffine(PixelSetStatistics statistics, CellMoments cells)
    {
        if (!IsTraining) return AffineFor(cells, statistics.Inference(cells, Alpha));
        CheckTrainingSetSize(statistics.Set, cells);
        return AffineFor(cells, statistics.Training(cells, Momentum));
    }

    /// <summary>Registers running moments (mean 0, var 1) of the given size as buffers "{prefix}running_mean" and "{prefix}running_var".</summary>
    protected RunningMoments RegisterRunningMoments(long size, string prefix = "") =>
        new(RegisterRunningStatistic(prefix + "running_mean", [size], 0), RegisterRunningStatistic(prefix + "running_var", [size], 1));

    /// <summary>
    /// Registers a running statistic filled with <paramref name="initialValue"/>, kept float64 whatever the layer's
    /// type, To(ScalarType) included (spec, running statistics, Storage). Inference differences running statistics
    /// against large values: x - running mean, E[x²] - E[x]². At an offset of 1e4 a float32 mean is off by ~1e-3
    /// and a float32 E[x²] by ~4, errors those differences keep while cancelling the rest; float64 keeps them at
    /// ~1e-12 and ~1e-8.
    /// </summary>
    protected Tensor RegisterRunningStatistic(string name, long[] shape, double initialValue) =>
        RegisterBuffer(name, Torch.Full(shape, initialValue, ScalarType.Float64), keepType: true);

    /// <summary>Throws when a pixel set would hold one value (its variance is meaningless).</summary>
    protected void CheckTrainingSetSize(PixelSet set, CellMoments cells)
    {
        if (set.SmallestSetSize(cells.N, cells.C, cells.PixelsPerCell) > 1) return;
        throw new ArgumentException(
            $"{LayerName}: {(IsTraining ? "in training, " : "")}an input of shape {Describe(cells.Shape)} leaves a {set} pixel set with a single value, so its variance is undefined; " +
            (set.IsBatchDependent ? "train with more examples per batch (or per chunk) or larger feature maps." : "use larger feature maps or a normalizer that pools over more channels or examples."));
    }

    private void CheckInput(Tensor input)
    {
        var shape = input.Shape;
        if (shape.Length != 4)
            throw new ArgumentException($"{LayerName}: expected 4D input (got {shape.Length}D input of shape {Describe(shape)}); pass NCHW feature maps.", nameof(input));
        if (shape[1] != Channels)
            throw new ArgumentException(
                $"{LayerName}: expected input with {Channels} channels (got {shape[1]} in shape {Describe(shape)}); build the layer with the channel count of the layer before it.",
                nameof(input));
        if (input.Type is not (ScalarType.Float32 or ScalarType.Float64))
            throw new ArgumentException($"{LayerName}: expected Float32 or Float64 input (got {input.Type}); convert it with To(ScalarType.Float32).", nameof(input));
        // Checked here because the moments of an empty cell are NaN, which the finiteness check below would
        // blame on the values; and an empty batch has no pixel set to pool.
        if (shape[0] == 0 || shape[2] == 0 || shape[3] == 0)
            throw new ArgumentException(
                $"{LayerName}: the input of shape {Describe(shape)} is empty; pass at least one example with feature maps of at least 1x1 pixels.",
                nameof(input));
    }

    protected static string Describe(long[] shape) =>
        "[" + string.Join(", ", shape.Select(s => s.ToString(CultureInfo.InvariantCulture))) + "]";
}
