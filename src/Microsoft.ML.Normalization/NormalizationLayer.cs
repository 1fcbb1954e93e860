using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace MLNetNormalization.Normalization;

/// <summary>
/// What every normalizer shares (docs/normalizers.md, section 1): per-(n, c) moments of the input, a small float64
/// statistics algebra done by the layer, then one per-(n, c) affine y = (x - m)·A + B, centred on the
/// cell's own mean. A TorchSharp module: the affine parameters gamma ("weight", 1) and beta ("bias", 0) and
/// the running statistics are registered, so <c>state_dict</c>, <c>to</c>, <c>save</c> and <c>load</c> work.
/// The base also owns eps, momentum, the inference example weight alpha, and the input checks. BN and ghost BN train
/// through libtorch's fused batch_norm (<see cref="FusedForward"/>), which accumulates its statistics in double. GN, LN and IN
/// do not use libtorch's group_norm: its float32 kernel accumulates in float, short of the precision docs/normalizers.md
/// asks for at large offsets, which NormalizationNumericsTests hold these layers to.
/// </summary>
public abstract class NormalizationLayer : nn.Module<Tensor, Tensor>
{
    private readonly List<string> runningStatisticNames = [];
    private double alpha;

    private protected NormalizationLayer(string layerName, long channels, double eps, double momentum, double defaultAlpha) : base(layerName)
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
        register_parameter("weight", new Parameter(ones(channels)));
        register_parameter("bias", new Parameter(zeros(channels)));
    }

    public string LayerName { get; }

    /// <summary>What the layer's type leaves open besides the channel count, as "name=value" pairs ("groups=8"), or empty.</summary>
    private protected virtual string Settings => "";

    /// <summary>The layer as PyTorch prints a module: its name, channel count, settings, eps and momentum ("GroupNorm(64, groups=8, eps=1E-05, momentum=0.1)").</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{LayerName}({Channels}{(Settings.Length > 0 ? ", " + Settings : "")}, eps={Eps}, momentum={Momentum})");

    /// <summary>C, the channel count of the NCHW input.</summary>
    public long Channels { get; }

    /// <summary>Added to every variance before the square root (PyTorch's eps; default <see cref="DefaultEps"/>).</summary>
    public double Eps { get; }

    /// <summary>The eps of every layer and normalizer string that gives none: 1e-5, PyTorch's.</summary>
    public const double DefaultEps = 1e-5;

    /// <summary>The momentum of every layer and normalizer string that gives none: 0.1, PyTorch's.</summary>
    public const double DefaultMomentum = 0.1;

    /// <summary>Weight of a batch in the running statistics, running = (1 - momentum)·running + momentum·batch (default <see cref="DefaultMomentum"/>).</summary>
    public double Momentum { get; }

    /// <summary>gamma, per channel, [C] (state_dict "weight").</summary>
    public Parameter Weight => ParameterNamed("weight");

    /// <summary>beta, per channel, [C] (state_dict "bias").</summary>
    public Parameter Bias => ParameterNamed("bias");

    /// <summary>A parameter this layer registered, by its state_dict name (looked up on each use: <c>to</c> and <c>load</c> replace the tensors).</summary>
    private protected Parameter ParameterNamed(string name) =>
        get_parameter(name) ?? throw new InvalidOperationException($"{LayerName} has no parameter '{name}'.");

    /// <summary>A buffer this layer registered, by its state_dict name.</summary>
    private protected Tensor BufferNamed(string name) =>
        get_buffer(name) ?? throw new InvalidOperationException($"{LayerName} has no buffer '{name}'.");

    /// <summary>The layer's own default alpha (docs/normalizers.md: 0 for batch statistics, 1 for per-example ones, 1/B_g for BGN).</summary>
    public double DefaultAlpha { get; }

    /// <summary>
    /// Inference example weight in [0, 1]: how much an example's own statistics count against the
    /// running ones at inference. Settable after training; it changes nothing in training.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A value outside [0, 1].</exception>
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
    private protected abstract bool InferenceStatisticsAreFixed(double alpha);

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
        if (training)
        {
            whyNot = $"{LayerName} is in training mode, where it normalizes with each batch's statistics; call eval() first (folding is for inference).";
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
        using var noGrad = no_grad();
        (scale, shift) = FixedInferenceAffine();
        return true;
    }

    // With statistics (mu, var) that ignore the input, A = gamma/sqrt(var + eps) and B = (m - mu)·A + beta, so
    // y = (x - m)·A + B = x·A + (beta - mu·A) for every cell mean m. The layer's own algebra evaluated on one example
    // whose cell means are 0 therefore gives the scale A and the shift beta - mu·A exactly, without a second,
    // per-layer formula that could drift from forward.
    private (Tensor Scale, Tensor Shift) FixedInferenceAffine()
    {
        using var scope = NewDisposeScope();
        var zeros = torch.zeros(1, Channels, dtype: ScalarType.Float64, device: Weight.device);
        var (cellScale, cellShift) = Affine(CellMoments.FromTables(zeros, zeros, [1, Channels, 1, 1]));
        return (cellScale.reshape(Channels).MoveToOuterDisposeScope(), cellShift.reshape(Channels).MoveToOuterDisposeScope());
    }

    /// <summary>Parameters that shape the statistics rather than scale the output (MN gates, SN mixing weights); a trainer may decay them separately.</summary>
    public virtual IEnumerable<Parameter> GatingParameters() => [];

    /// <summary>Normalizes an NCHW float32 or float64 batch, [N, C, H, W] in and out.</summary>
    /// <exception cref="ArgumentException">
    /// Not 4D, a channel count other than <see cref="Channels"/>, not floating point, empty, NaN or infinite values, or
    /// a pixel set of a single value (in training; at inference where the example's own statistics alone normalize).
    /// </exception>
    public sealed override Tensor forward(Tensor input)
    {
        CheckInput(input);
        using var scope = NewDisposeScope();
        var output = (GeneralPathOnly ? null : FusedForward(input)) ?? (training || !InferenceStatisticsAreFixed(Alpha) ? GeneralForward(input) : FixedAffineForward(input));
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// True to take the general path (cell moments, the layer's algebra differentiated by autograd) even where a fused
    /// kernel or the table algebra computes the same: the reference the tests hold the fast paths to. Default false.
    /// </summary>
    internal bool GeneralPathOnly { get; set; }

    // The table path on the CPU: in training; at inference where no gradient is wanted (its algebra has no backward there).
    private Tensor GeneralForward(Tensor input)
    {
        var algebra = GeneralPathOnly || input.device_type != DeviceType.CPU ? null
            : training ? TrainingTableAlgebra(input.shape)
            : is_grad_enabled() && (input.requires_grad || parameters().Any(p => p.requires_grad)) ? null
            : InferenceTableAlgebra(input.shape);
        return algebra is null ? CellAffine.Apply(input, MeasuredAffine, parameters().ToList()) : TableAffine.Apply(this, input, algebra);
    }

    /// <summary>
    /// The layer's training algebra in .NET arrays (<see cref="TableAlgebra"/>), after the input-shape checks its
    /// Affine makes; null where it has none (the algebra then runs as libtorch ops on the tables).
    /// </summary>
    private protected virtual TableAlgebra? TrainingTableAlgebra(long[] shape) => null;

    /// <summary>The layer's inference algebra at its alpha in .NET arrays, forward only, after Affine's input-shape checks; null where it has none.</summary>
    private protected virtual TableAlgebra? InferenceTableAlgebra(long[] shape) => null;

    private (Tensor Scale, Tensor Shift) MeasuredAffine(CellMoments cells)
    {
        CheckFinite(cells.Var, cells.Shape);
        return Affine(cells);
    }

    // At inference with fixed statistics, y = x·A + S with S ≈ -mu·A. Written as (x - c)·A + (S + c·A) with c = -S/A
    // rounded to the input's type, x - c is exact for x near the mean and S + c·A is small, so an input far from
    // zero keeps its precision; and no statistics of the input are measured.
    private Tensor FixedAffineForward(Tensor input)
    {
        CheckFinite(input.sum(ScalarType.Float64), input.shape);
        var (scale, shift) = FixedInferenceAffine();
        var centre = where(scale != 0, -shift / scale, 0.0).detach().to(input.dtype);
        var channelShape = new long[] { 1, Channels, 1, 1 };
        return addcmul((shift + centre.to(ScalarType.Float64) * scale).to(input.dtype).view(channelShape),
                       input - centre.view(channelShape), scale.to(input.dtype).view(channelShape), 1);
    }

    /// <summary>
    /// The output from one of libtorch's fused normalization kernels where it computes exactly this layer's
    /// statistics in the current mode (and updates the running statistics in training), or null to take the
    /// general path. The input has passed the shape and type checks.
    /// </summary>
    private protected virtual Tensor? FusedForward(Tensor input) => null;

    /// <summary>The per-cell affine (A, B) of y = (x - m)·A + B, as [N, C] float64 tables.</summary>
    private protected abstract (Tensor Scale, Tensor Shift) Affine(CellMoments cells);

    /// <summary>gamma·(x - mu)/sqrt(var + eps) + beta, written as (x - m)·A + B for per-cell (mu, var).</summary>
    private protected (Tensor Scale, Tensor Shift) AffineFor(CellMoments cells, MeanVar normalizing)
    {
        var scale = Gamma() * (normalizing.Var.clamp(min: 0) + Eps).rsqrt();
        return (scale, (cells.Mean - normalizing.Mean) * scale + Beta());
    }

    /// <summary>gamma as a [1, C] float64 row.</summary>
    private protected Tensor Gamma() => Weight.to(ScalarType.Float64).unsqueeze(0);

    /// <summary>beta as a [1, C] float64 row.</summary>
    private protected Tensor Beta() => Bias.to(ScalarType.Float64).unsqueeze(0);

    /// <summary>Registers running moments (mean 0, var 1) of the given size as buffers "{prefix}running_mean" and "{prefix}running_var".</summary>
    private protected RunningMoments RegisterRunningMoments(long size, string prefix = "")
    {
        RegisterRunningStatistic(prefix + "running_mean", [size], 0);
        RegisterRunningStatistic(prefix + "running_var", [size], 1);
        return new(this, prefix + "running_mean", prefix + "running_var");
    }

    /// <summary>
    /// Registers a running statistic filled with <paramref name="initialValue"/>, kept float64 whatever the layer's
    /// type, <c>to(ScalarType)</c> included (docs/normalizers.md, section 2, "Storage"). Inference differences running statistics
    /// against large values: x - running mean, E[x²] - E[x]². At an offset of 1e4 a float32 mean is off by ~1e-3
    /// and a float32 E[x²] by ~4, errors those differences keep while cancelling the rest; float64 keeps them at
    /// ~1e-12 and ~1e-8.
    /// </summary>
    private protected void RegisterRunningStatistic(string name, long[] shape, double initialValue)
    {
        register_buffer(name, full(shape, initialValue, ScalarType.Float64));
        runningStatisticNames.Add(name);
    }

    /// <summary>
    /// Converts and moves as TorchSharp's Module does, except that a type conversion leaves the running statistics
    /// float64 (they are moved to the new device only).
    /// </summary>
    protected override void _toEpilog(ScalarType? dtype, Device? device, bool non_blocking)
    {
        if (dtype is null)
        {
            base._toEpilog(dtype, device, non_blocking);
            return;
        }
        // The base class converts every floating buffer and disposes the original, so the statistics are copied first.
        var kept = runningStatisticNames.Select(name => (name, BufferNamed(name).clone().DetachFromDisposeScope())).ToList();
        base._toEpilog(dtype, device, non_blocking);
        foreach (var (name, statistic) in kept)
        {
            BufferNamed(name).Dispose();
            ConditionallyRegisterBuffer(name, device is null ? statistic : statistic.to(device, disposeAfter: true).DetachFromDisposeScope());
        }
    }

    /// <summary>Throws when a pixel set the layer normalizes with would hold one value (its variance is meaningless).</summary>
    internal void CheckTrainingSetSize(PixelSet set, long[] shape)
    {
        if (SmallestSetSize(set, shape) > 1) return;
        throw new ArgumentException(
            $"{LayerName}: {(training ? "in training, " : "")}an input of shape {Describe(shape)} leaves a {set} pixel set with a single value, so its variance is undefined; " +
            (set.IsBatchDependent ? "train with more examples per batch (or per chunk) or larger feature maps." : "use larger feature maps or a normalizer that pools over more channels or examples."));
    }

    /// <summary>
    /// At inference, throws when the statistics come from the example alone (<paramref name="exampleAlone"/>: alpha 1, or a
    /// set without running statistics) and its <paramref name="set"/> holds one value: the output would not depend on the
    /// input (beta, or the deviation from a running mean over sqrt(eps)), where training refuses the same shape.
    /// <paramref name="keepsRunningStatistics"/>: whether an alpha below 1 would bring running statistics in for this set.
    /// </summary>
    private protected void CheckInferenceSetSize(PixelSet set, long[] shape, bool exampleAlone, bool keepsRunningStatistics)
    {
        var own = set.WithinExample;
        if (!exampleAlone || SmallestSetSize(own, shape) > 1) return;
        throw new ArgumentException(
            $"{LayerName}: at inference (alpha = {Alpha.ToString(CultureInfo.InvariantCulture)}), an input of shape {Describe(shape)} leaves each example's {own} pixel set " +
            "with a single value, so its variance is undefined; use larger feature maps" +
            (keepsRunningStatistics ? ", or an inference alpha below 1 so that the running statistics take part." : " or a normalizer that pools over more channels."));
    }

    /// <summary><see cref="CheckInferenceSetSize(PixelSet, long[], bool, bool)"/> for one set's statistics at this layer's alpha.</summary>
    private protected void CheckInferenceSetSize(PixelSetStatistics statistics, long[] shape) =>
        CheckInferenceSetSize(statistics.Set, shape, statistics.UsesExampleAlone(Alpha), statistics.Kind != RunningStatisticsKind.None);

    private static long SmallestSetSize(PixelSet set, long[] shape) => set.SmallestSetSize(shape[0], shape[1], shape[2] * shape[3]);

    /// <summary>
    /// Throws when a statistic measured on the input is NaN or infinite, which only non-finite input values make. Pass a
    /// variance table (a NaN or an infinity among a set's values makes its variance NaN, (inf - inf)² or NaN², whatever
    /// its mean became) or a sum of the input: one float64 sum, read once, then checks the whole input, where a
    /// small-table op costs microseconds at every layer.
    /// </summary>
    internal void CheckFinite(Tensor statistic, long[] inputShape)
    {
        if (!double.IsFinite(statistic.detach().sum(ScalarType.Float64).ToDouble())) throw NonFiniteInput(inputShape);
    }

    /// <summary>The error for an input of <paramref name="inputShape"/> with NaN or infinite values.</summary>
    internal ArgumentException NonFiniteInput(long[] inputShape) => new(
        $"{LayerName}: the input {Describe(inputShape)} contains NaN or infinite values; check the layers before it " +
        "(a learning rate that is too high is the usual cause).", "input");

    private void CheckInput(Tensor input)
    {
        var shape = input.shape;
        if (shape.Length != 4)
            throw new ArgumentException($"{LayerName}: expected 4D input (got {shape.Length}D input of shape {Describe(shape)}); pass NCHW feature maps.", nameof(input));
        if (shape[1] != Channels)
            throw new ArgumentException(
                $"{LayerName}: expected input with {Channels} channels (got {shape[1]} in shape {Describe(shape)}); build the layer with the channel count of the layer before it.",
                nameof(input));
        if (input.dtype is not (ScalarType.Float32 or ScalarType.Float64))
            throw new ArgumentException($"{LayerName}: expected Float32 or Float64 input (got {input.dtype}); convert it with to(ScalarType.Float32).", nameof(input));
        // Checked here because the moments of an empty cell are NaN, which the finiteness check would
        // blame on the values; and an empty batch has no pixel set to pool.
        if (shape[0] == 0 || shape[2] == 0 || shape[3] == 0)
            throw new ArgumentException(
                $"{LayerName}: the input of shape {Describe(shape)} is empty; pass at least one example with feature maps of at least 1x1 pixels.",
                nameof(input));
    }

    private protected static string Describe(long[] shape) =>
        "[" + string.Join(", ", shape.Select(s => s.ToString(CultureInfo.InvariantCulture))) + "]";
}
