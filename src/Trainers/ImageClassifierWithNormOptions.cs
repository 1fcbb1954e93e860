using System.Globalization;
using Microsoft.ML;
using MLNetNormalization;
using MLNetNormalization.Normalization;
using MLNetNormalization.Backbones;
using MLNetNormalization.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetNormalization;

/// <summary>
/// Options of the ImageClassifierWithNorm trainer: the backbone, its normalizer, and how to train it.
/// The trainer copies them when it is created, so changing an instance afterwards changes nothing, and
/// checks every combination before training starts.
/// </summary>
public sealed class ImageClassifierWithNormOptions
{
    // The engine's options that this class exposes, with the engine's defaults: the training options below read and
    // write it, so their defaults and the mapping to the engine live in TrainingOptions alone.
    private TrainingOptions _training = new();

    /// <summary>The backbone. Default <see cref="Architecture.ResNet20"/>; use <see cref="Architecture.LeNet"/> for small grayscale images.</summary>
    public Architecture Architecture { get; set; } = Architecture.ResNet20;

    /// <summary>
    /// A backbone of your own: the name its <see cref="BackboneFactory"/> was registered under
    /// (<see cref="BackboneRegistry.Register"/>, before Fit, and before <c>ml.Model.Load</c> in the process that loads the
    /// model). Default null. When set, it is used and <see cref="Architecture"/> is not; the normalizer options and their
    /// placement apply to the layers the factory asks its normalization function for.
    /// </summary>
    public string? Backbone { get; set; }

    /// <summary>The normalizer, typed, with <see cref="Modes"/>, <see cref="GhostBatchSize"/>, <see cref="Groups"/> and <see cref="ExamplesPerGroup"/> as its parameters. Default <see cref="NormalizerKind.BatchNorm"/>.</summary>
    public NormalizerKind Normalizer { get; set; } = NormalizerKind.BatchNorm;

    /// <summary>
    /// The normalizer as a factory string ("mn:k=2", "hn:mean=gn8,std=en1"; see <see cref="NormalizerFactory.ValidForms"/>).
    /// Default null. When set, it is used as written and the typed <see cref="Normalizer"/> with its parameters is not.
    /// </summary>
    public string? NormalizerSpecification { get; set; }

    /// <summary>Every normalization layer, or only the first (the MN paper's "init" variant; the others are BN). Default every layer.</summary>
    public NormalizerPlacement NormalizerPlacement { get; set; } = NormalizerPlacement.EveryLayer;

    /// <summary>Modes K of <see cref="NormalizerKind.ModeNorm"/> and <see cref="NormalizerKind.ModeGroupNorm"/>. Default null: <see cref="NormalizerFactory.DefaultModes"/>.</summary>
    public int? Modes { get; set; }

    /// <summary>Examples per ghost batch of <see cref="NormalizerKind.GhostBatchNorm"/>, at most <see cref="BatchSize"/>. Default 32.</summary>
    public int GhostBatchSize { get; set; } = 32;

    /// <summary>
    /// Channel groups of <see cref="NormalizerKind.GroupNorm"/>, <see cref="NormalizerKind.BatchGroupNorm"/>, <see cref="NormalizerKind.ExtendedNorm"/>
    /// and the std of <see cref="NormalizerKind.HeterologousNorm"/>; must divide every normalized layer's channels. Default null: each normalizer's own
    /// (<see cref="NormalizerFactory.DefaultGroupNormGroups"/>, <see cref="DefaultBatchGroupNormGroups"/>, <see cref="NormalizerFactory.DefaultExtendedNormGroups"/>).
    /// </summary>
    public int? Groups { get; set; }

    /// <summary>The channel groups of <see cref="NormalizerKind.BatchGroupNorm"/> when <see cref="Groups"/> is null: 8 (its factory string has no default).</summary>
    public const int DefaultBatchGroupNormGroups = 8;

    /// <summary>Examples pooled per group by <see cref="NormalizerKind.BatchGroupNorm"/>, at most <see cref="BatchSize"/>. Default 2.</summary>
    public int ExamplesPerGroup { get; set; } = 2;

    /// <summary>Inference example weight alpha of every layer with running statistics (0: running statistics only, 1: the example's own). Default null: each layer's own (BN-like 0, BGN 1/ExamplesPerGroup, per-example layers 1).</summary>
    public double? InferenceAlpha { get; set; }

    /// <inheritdoc cref="TrainingOptions.WeightDecay"/>
    public double WeightDecay { get => _training.WeightDecay; set => _training = _training with { WeightDecay = value }; }

    /// <inheritdoc cref="TrainingOptions.NormWeightDecay"/>
    public double NormWeightDecay { get => _training.NormWeightDecay; set => _training = _training with { NormWeightDecay = value }; }

    /// <inheritdoc cref="TrainingOptions.GateWeightDecay"/>
    public double GateWeightDecay { get => _training.GateWeightDecay; set => _training = _training with { GateWeightDecay = value }; }

    /// <inheritdoc cref="TrainingOptions.Epochs"/>
    public int Epochs { get => _training.Epochs; set => _training = _training with { Epochs = value }; }

    /// <inheritdoc cref="TrainingOptions.BatchSize"/>
    public int BatchSize { get => _training.BatchSize; set => _training = _training with { BatchSize = value }; }

    /// <inheritdoc cref="TrainingOptions.LearningRate"/>
    public double LearningRate { get => _training.LearningRate; set => _training = _training with { LearningRate = value }; }

    /// <inheritdoc cref="TrainingOptions.Schedule"/>
    public LearningRateScheduleKind Schedule { get => _training.Schedule; set => _training = _training with { Schedule = value }; }

    /// <inheritdoc cref="TrainingOptions.WarmupEpochs"/>
    public double WarmupEpochs { get => _training.WarmupEpochs; set => _training = _training with { WarmupEpochs = value }; }

    /// <inheritdoc cref="TrainingOptions.Momentum"/>
    public double Momentum { get => _training.Momentum; set => _training = _training with { Momentum = value }; }

    /// <inheritdoc cref="TrainingOptions.LabelSmoothing"/>
    public double LabelSmoothing { get => _training.LabelSmoothing; set => _training = _training with { LabelSmoothing = value }; }

    /// <inheritdoc cref="TrainingOptions.CropPadding"/>
    public int CropPadding { get => _training.CropPadding; set => _training = _training with { CropPadding = value }; }

    /// <inheritdoc cref="TrainingOptions.HorizontalFlip"/>
    public bool HorizontalFlip { get => _training.HorizontalFlip; set => _training = _training with { HorizontalFlip = value }; }

    /// <summary>Fraction of the training data held out to pick the best epoch and stop early, in [0, 1). Default 0 (none).</summary>
    public double ValidationFraction { get; set; }

    /// <summary>
    /// Validation data with the same columns as the training data (label keys from the same MapValueToKey), used
    /// instead of <see cref="ValidationFraction"/> to pick the best epoch and stop early. Default null (none).
    /// </summary>
    public IDataView? ValidationSet { get; set; }

    /// <summary>The label column: keys made by MapValueToKey. Default "Label".</summary>
    public string LabelColumnName { get; set; } = "Label";

    /// <summary>
    /// The features column: Vector&lt;Single, C, H, W&gt; of pixels made by ExtractPixels, or Vector&lt;Byte&gt; of encoded
    /// image files made by LoadRawImageBytes (then give <see cref="ImageChannels"/>, <see cref="ImageHeight"/> and
    /// <see cref="ImageWidth"/>). Default "Features".
    /// </summary>
    public string FeatureColumnName { get; set; } = "Features";

    /// <summary>
    /// Channels of the images when the features column does not say: encoded images from LoadRawImageBytes (1: gray,
    /// 3: RGB; they are decoded and resized to <see cref="ImageHeight"/> x <see cref="ImageWidth"/>), or a Single vector
    /// without image dimensions (planar C x H x W). ExtractPixels' vectors carry their dimensions, and then these three
    /// are not used. Default null.
    /// </summary>
    public int? ImageChannels { get; set; }

    /// <summary>Height in pixels of the images when the features column does not say; see <see cref="ImageChannels"/>. Default null.</summary>
    public int? ImageHeight { get; set; }

    /// <summary>Width in pixels of the images when the features column does not say; see <see cref="ImageChannels"/>. Default null.</summary>
    public int? ImageWidth { get; set; }

    /// <summary>The column of class probabilities the model adds. Default "Score".</summary>
    public string ScoreColumnName { get; set; } = "Score";

    /// <summary>The key column of the most probable class the model adds. Default "PredictedLabel".</summary>
    public string PredictedLabelColumnName { get; set; } = "PredictedLabel";

    /// <inheritdoc cref="TrainingOptions.EarlyStopping"/>
    public EarlyStoppingOptions? EarlyStopping { get => _training.EarlyStopping; set => _training = _training with { EarlyStopping = value }; }

    /// <summary>
    /// Where to train and predict. Default <see cref="ComputeDevice.Auto"/>: as ML.NET's context says, the CUDA device
    /// <c>MLContext.GpuDeviceId</c> when it is set, else the first CUDA GPU when <c>torch.cuda.is_available()</c>, else the
    /// CPU. <see cref="ComputeDevice.Cuda"/> takes device <c>GpuDeviceId</c> (0 when unset); <see cref="ComputeDevice.Cpu"/>
    /// ignores the context. A GPU asked for where TorchSharp has none is refused by Fit before any data are read, with an
    /// <see cref="ArgumentException"/> naming the package to reference instead of TorchSharp-cpu (TorchSharp-cuda-linux or
    /// TorchSharp-cuda-windows), unless <c>MLContext.FallbackToCpu</c> is true: then Fit trains on the CPU and says so in the
    /// log (a warning).
    /// </summary>
    public ComputeDevice Device { get; set; } = ComputeDevice.Auto;

    /// <summary>Seed of initialization, data order, augmentation and dropout. Default null: drawn from the MLContext's seed when the trainer is made.</summary>
    public int? Seed { get; set; }

    /// <summary>Called with training progress (every 50 steps and at each epoch end, with validation metrics). Default null.</summary>
    public Action<TrainingProgress>? MetricsCallback { get; set; }

    /// <summary>
    /// Cancels training: Fit stops at the next step (or right after a <see cref="MetricsCallback"/> that cancelled) with
    /// <see cref="OperationCanceledException"/>; with <see cref="WorkspacePath"/> set, a trainer made again with a new token
    /// resumes from the last checkpoint (a Fit of the trainer whose token was cancelled throws at once, saying so).
    /// (ML.NET keeps MLContext's own CancelExecution internal; the trainer honours it too.) Default none.
    /// </summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>
    /// Folder for checkpoints; Fit resumes the run of a checkpoint found there, also in a new estimator or process. A run
    /// is its options and data, and its seed only where one was chosen (<see cref="Seed"/> or the MLContext's): without
    /// one, Fit takes the checkpoint's seed. A checkpoint of another run is refused, naming what differs; give another
    /// folder or delete the checkpoint to start afresh. Default null (none written).
    /// </summary>
    public string? WorkspacePath { get => _training.WorkspacePath; set => _training = _training with { WorkspacePath = value }; }

    /// <summary>Train only this many of the <see cref="Epochs"/> (schedule unchanged, checkpoint resumable); see <see cref="TrainingOptions.PauseAtEpoch"/>. Null: all.</summary>
    internal int? PauseAtEpoch { get => _training.PauseAtEpoch; set => _training = _training with { PauseAtEpoch = value }; }

    /// <summary>The normalizer's factory string: <see cref="NormalizerSpecification"/>, or the typed normalizer written as one.</summary>
    public string GetNormalizerSpecification() => NormalizerSpecification ?? (Normalizer switch
    {
        NormalizerKind.BatchNorm => "bn",
        NormalizerKind.GhostBatchNorm => Invariant($"ghost:b={GhostBatchSize}"),
        NormalizerKind.BatchGroupNorm => Invariant($"bgn:g={Groups ?? DefaultBatchGroupNormGroups},b={ExamplesPerGroup}"),
        NormalizerKind.ModeNorm => Invariant($"mn:k={Modes ?? NormalizerFactory.DefaultModes}"),
        NormalizerKind.ModeGroupNorm => Invariant($"mgn:k={Modes ?? NormalizerFactory.DefaultModes}"),
        NormalizerKind.HeterologousNorm => Invariant($"hn:g={Groups ?? NormalizerFactory.DefaultExtendedNormGroups}"),
        NormalizerKind.ExtendedNorm => Invariant($"en:g={Groups ?? NormalizerFactory.DefaultExtendedNormGroups}"),
        NormalizerKind.GroupNorm => Invariant($"gn:g={Groups ?? NormalizerFactory.DefaultGroupNormGroups}"),
        NormalizerKind.LayerNorm => "ln",
        NormalizerKind.InstanceNorm => "in",
        NormalizerKind.SwitchableNorm => "sn",
        _ => throw Invalid(nameof(Normalizer), $"{Normalizer} is not one of {string.Join(", ", Enum.GetNames<NormalizerKind>())}."),
    });

    /// <summary>
    /// The device <see cref="Device"/> and <paramref name="context"/>'s GpuDeviceId and FallbackToCpu come to; it depends on
    /// no data, so the estimator checks it with the schema, before any transform of the pipeline reads a row.
    /// </summary>
    /// <exception cref="ArgumentException">Device is not a <see cref="ComputeDevice"/>, or a GPU TorchSharp cannot give was asked for without FallbackToCpu.</exception>
    internal ChosenDevice ResolveDevice(ContextDevice context)
    {
        if (!Enum.IsDefined(Device))
            throw Invalid(nameof(Device), $"{Device} is not one of {string.Join(", ", Enum.GetNames<ComputeDevice>())}.");
        try
        {
            return TrainingDevice.Resolve(Device, context);
        }
        catch (InvalidOperationException e)
        {
            // A GPU TorchSharp cannot give: the message names the package to add (TorchSharp-cuda-linux or -windows) and FallbackToCpu.
            // Where the context asked for it, the context is to blame, not an option the user never set.
            throw Device == ComputeDevice.Auto ? new ArgumentException($"ImageClassifierWithNorm: {e.Message}", e) : Invalid(nameof(Device), e.Message, e);
        }
    }

    /// <summary>
    /// Checks every option and combination for images of <paramref name="input"/> shape and <paramref name="classes"/>
    /// classes, before any training, and returns what the trainer builds from them. The device follows
    /// <paramref name="context"/>'s GpuDeviceId and FallbackToCpu where <see cref="Device"/> leaves it to the context. The
    /// global random generator is left as it was.
    /// </summary>
    internal ResolvedClassifierOptions Resolve(ImageShape input, int classes, int contextSeed, ContextDevice? context = null)
    {
        if (!Enum.IsDefined(Architecture))
            throw Invalid(nameof(Architecture), $"{Architecture} is not one of {string.Join(", ", Enum.GetNames<Architecture>())}.");
        if (Backbone is { } backbone && !BackboneRegistry.IsRegistered(backbone))
            throw Invalid(nameof(Backbone), BackboneRegistry.NotRegistered(backbone));
        if (!Enum.IsDefined(Normalizer))
            throw Invalid(nameof(Normalizer), $"{Normalizer} is not one of {string.Join(", ", Enum.GetNames<NormalizerKind>())}.");
        if (Modes is < 1) throw Invalid(nameof(Modes), $"must be >= 1 (one mode is BN), got {Modes}.");
        if (GhostBatchSize < 1) throw Invalid(nameof(GhostBatchSize), $"must be >= 1, got {GhostBatchSize}.");
        if (Normalizer == NormalizerKind.GhostBatchNorm && NormalizerSpecification is null && GhostBatchSize > BatchSize)
            throw Invalid(nameof(GhostBatchSize), $"{GhostBatchSize} is larger than BatchSize {BatchSize}, so every batch would be one ghost batch (plain BN); use a GhostBatchSize <= BatchSize, or BatchNorm.");
        if (Groups is < 1) throw Invalid(nameof(Groups), $"must be >= 1, got {Groups}.");
        if (ExamplesPerGroup < 1) throw Invalid(nameof(ExamplesPerGroup), $"must be >= 1, got {ExamplesPerGroup}.");
        if (Normalizer == NormalizerKind.BatchGroupNorm && NormalizerSpecification is null && ExamplesPerGroup > BatchSize)
            throw Invalid(nameof(ExamplesPerGroup), $"{ExamplesPerGroup} is larger than BatchSize {BatchSize}; use at most the batch size.");
        if (InferenceAlpha is { } alpha && !(alpha is >= 0 and <= 1))
            throw Invalid(nameof(InferenceAlpha), $"must be in [0, 1] (0: running statistics, 1: the example's own), got {alpha}.");
        if (!(ValidationFraction is >= 0 and < 1))
            throw Invalid(nameof(ValidationFraction), $"must be in [0, 1), got {ValidationFraction}.");
        if (ValidationSet is not null && ValidationFraction > 0)
            throw Invalid(nameof(ValidationSet), $"and ValidationFraction {ValidationFraction} both give validation data; use one (set ValidationFraction to 0 to use the set).");
        foreach (var (option, name) in new[] { (nameof(LabelColumnName), LabelColumnName), (nameof(FeatureColumnName), FeatureColumnName),
                                               (nameof(ScoreColumnName), ScoreColumnName), (nameof(PredictedLabelColumnName), PredictedLabelColumnName) })
            if (string.IsNullOrEmpty(name)) throw Invalid(option, "needs a column name.");
        if (ScoreColumnName == PredictedLabelColumnName)
            throw Invalid(nameof(PredictedLabelColumnName), $"is '{PredictedLabelColumnName}', the same as ScoreColumnName; give the two output columns different names.");
        if (EarlyStopping is not null && ValidationFraction == 0 && ValidationSet is null)
            throw Invalid(nameof(EarlyStopping), "needs validation data: set ValidationFraction (or give a validation set).");
        foreach (var (option, value) in new[] { (nameof(ImageChannels), ImageChannels), (nameof(ImageHeight), ImageHeight), (nameof(ImageWidth), ImageWidth) })
            if (value is < 1) throw Invalid(option, $"must be >= 1, got {value}.");
        var device = ResolveDevice(context ?? ContextDevice.None);

        // The pipeline's features are what the network sees (ExtractPixels standardizes): the engine leaves them so.
        var trainer = new ClassifierTrainer(_training with { Seed = (ulong)(uint)(Seed ?? contextSeed), PixelMean = [0.0], PixelStd = [1.0] },
                                            nameof(ImageClassifierWithNormOptions));

        var specification = GetNormalizerSpecification();
        NormalizerPlan plan;
        try
        {
            plan = new NormalizerPlan(specification, NormalizerPlacement);
        }
        catch (ArgumentException e)
        {
            throw Invalid(NormalizerSpecification is null ? nameof(Normalizer) : nameof(NormalizerSpecification), MessageOf(e), e);
        }
        // A registered backbone's layers are known only once it is built: its factory's normalizers are checked then.
        if (Backbone is null) CheckEveryLayer(plan, input, classes);
        return new ResolvedClassifierOptions(Backbone ?? Architecture.ToString(), plan, trainer, InferenceAlpha, device.Device, device.Note);
    }

    // Checks that the backbone takes the images and that every normalization layer it would have can be made for its
    // channels (a group count that does not divide them fails), naming the layer, rather than when training starts. The
    // backbone is not built: its layers' channel counts are known from its configuration. The layers are built (MN's
    // gates draw from the global generator, which is left as it was).
    private void CheckEveryLayer(NormalizerPlan plan, ImageShape input, int classes)
    {
        try
        {
            Backbones.Backbone.CheckInput(Architecture, input, classes);
        }
        catch (ArgumentException e)
        {
            throw Invalid(nameof(Architecture), MessageOf(e), e);
        }
        var channels = Backbones.Backbone.NormalizedChannels(Architecture, classes);
        using var rngState = get_rng_state();
        var factory = plan.NewFactory();
        try
        {
            for (var i = 0; i < channels.Length; i++)
            {
                try
                {
                    using var layer = factory(channels[i]);
                }
                catch (ArgumentException e)
                {
                    var option = NormalizerSpecification is not null ? nameof(NormalizerSpecification) : Groups is not null ? nameof(Groups) : nameof(Normalizer);
                    var common = Enumerable.Range(1, (int)channels.Min()).Where(d => channels.All(c => c % d == 0));
                    throw Invalid(option,
                        $"normalization layer {i + 1} of {Architecture} has {channels[i]} channels, which \"{plan.Normalizer}\" cannot take: {MessageOf(e)} " +
                        $"The layers have {string.Join(", ", channels.Distinct())} channels; group counts that divide them all: {string.Join(", ", common)}.", e);
                }
            }
        }
        finally
        {
            set_rng_state(rngState);
        }
    }

    /// <summary>A shallow copy: what a trainer keeps, so later changes to the caller's instance change nothing.</summary>
    internal ImageClassifierWithNormOptions Clone() => (ImageClassifierWithNormOptions)MemberwiseClone();

    // An inner ArgumentException's message without the " (Parameter 'x')" it appends, which the outer one adds again.
    private static string MessageOf(Exception e) =>
        e is ArgumentException { ParamName: { } name } ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message;

    private static ArgumentException Invalid(string option, string reason, Exception? inner = null) =>
        new($"{nameof(ImageClassifierWithNormOptions)}.{option}: {reason}", option, inner);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
