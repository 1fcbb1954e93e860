namespace MLNetNormalization.Training;

/// <summary>
/// Everything the training engine needs besides the model and the data. Defaults follow the papers'
/// CIFAR settings (SGD with momentum 0.9, batch 128, rate 0.1) where they agree.
/// </summary>
public sealed record TrainingOptions
{
    /// <summary>Passes over the training data. Default 10.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Examples per step. Default 128.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Peak SGD learning rate. Default 0.1.</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>SGD momentum. Default 0.9.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Nesterov momentum. Default false.</summary>
    public bool Nesterov { get; init; }

    /// <summary>Weight decay of convolution and linear weights and biases. Default 1e-4 (the ResNet papers' value).</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>Weight decay of the normalizers' gamma and beta ("Four Things Everyone Should Know to Improve Batch Normalization", arXiv:1906.03548, section 3.3: helps some networks, hurts others). Default 0.</summary>
    public double NormWeightDecay { get; init; }

    /// <summary>Weight decay of gating parameters (MN/MGN gates, SN mixing logits). Default 0.</summary>
    public double GateWeightDecay { get; init; }

    /// <summary>The learning-rate schedule. Default <see cref="LearningRateScheduleKind.MultiStep"/>.</summary>
    public LearningRateScheduleKind Schedule { get; init; } = LearningRateScheduleKind.MultiStep;

    /// <summary>Epochs at which a MultiStep schedule multiplies the rate by <see cref="ScheduleGamma"/>. Default: at 50% and 75% of the epochs.</summary>
    public IReadOnlyList<int>? Milestones { get; init; }

    /// <summary>Epochs between reductions of a Step schedule. Default 30.</summary>
    public int StepEpochs { get; init; } = 30;

    /// <summary>The factor of each Step or MultiStep reduction. Default 0.1.</summary>
    public double ScheduleGamma { get; init; } = 0.1;

    /// <summary>Epochs (fractions allowed) of linear warm-up from 0 to the rate, before the schedule. Default 0.</summary>
    public double WarmupEpochs { get; init; }

    /// <summary>Label smoothing of the cross-entropy loss, in [0, 1). Default 0.</summary>
    public double LabelSmoothing { get; init; }

    /// <summary>Pixels of zero padding around each training image before a random crop back to its size (0: no crop). Default 4 (the CIFAR papers').</summary>
    public int CropPadding { get; init; } = 4;

    /// <summary>Flip each training image horizontally with probability 1/2. Default true; turn it off for digits, whose mirror images are other shapes.</summary>
    public bool HorizontalFlip { get; init; } = true;

    /// <summary>Per-channel mean subtracted from pixels scaled to [0, 1] (one value, or one per channel). Default 0.5.</summary>
    public IReadOnlyList<double> PixelMean { get; init; } = [0.5];

    /// <summary>Per-channel standard deviation pixels are divided by (one value, or one per channel). Default 0.25.</summary>
    public IReadOnlyList<double> PixelStd { get; init; } = [0.25];

    /// <summary>Early stopping on the validation metric; null (default) trains every epoch. Needs validation data.</summary>
    public EarlyStoppingOptions? EarlyStopping { get; init; }

    /// <summary>The metric that decides the best epoch and early stopping. Default MicroAccuracy.</summary>
    public ValidationMetric ValidationMetric { get; init; } = ValidationMetric.MicroAccuracy;

    /// <summary>With validation data, load the best epoch's weights into the model when training ends. Default true.</summary>
    public bool RestoreBestModel { get; init; } = true;

    /// <summary>
    /// Folder for checkpoints: "checkpoint.mlnt" (the latest state, written at every epoch end and every
    /// <see cref="CheckpointEverySteps"/> steps) and "best.mlnt" (the best epoch's weights). Null (default): none written.
    /// </summary>
    public string? WorkspacePath { get; init; }

    /// <summary>Also write a checkpoint every this many steps within an epoch (0: only at epoch ends). Default 0.</summary>
    public int CheckpointEverySteps { get; init; }

    /// <summary>Continue from the workspace's checkpoint when there is one. Default true.</summary>
    public bool Resume { get; init; } = true;

    /// <summary>Seed of data order, augmentation and dropout; the same seed gives bit-identical weights on CPU. Default 0.</summary>
    public ulong Seed { get; init; }

    /// <summary>Report progress every this many steps (epoch ends are always reported). Default 50.</summary>
    public int ProgressEverySteps { get; init; } = 50;

    /// <summary>Batches assembled ahead of the trainer on a background thread. Default 4.</summary>
    public int PrefetchBatches { get; init; } = 4;

    /// <summary>
    /// Run the convolutions in the channels-last memory layout (NHWC strides behind the usual NCHW sizes): each
    /// batch and, while training, every <c>Conv2d</c> weight are laid out so, which lets libtorch's CPU
    /// convolutions (oneDNN) skip their layout conversions. Shapes, state_dict names and saved files are the same
    /// either way; the weights are put back in the usual layout when training ends. Float rounding differs
    /// slightly between the layouts, so a run resumes bit-identically only with the same setting.
    /// Default true: a ResNet-20 training step on the CPU is faster so (`bench/ResNetBench -- --diagnose` times the two
    /// layouts taking turns step by step; bench/results.md).
    /// </summary>
    public bool ChannelsLast { get; init; } = true;

    /// <summary>
    /// Stop after this many epochs of the <see cref="Epochs"/> planned, as if training ended there (best weights restored,
    /// final validation), while the schedule stays that of <see cref="Epochs"/> and the workspace's checkpoint stays
    /// resumable: training again with a larger value continues bit for bit as an uninterrupted run would. Null: every
    /// epoch. Internal, so not part of a checkpoint's options (the sweep's successive halving pauses trials with it).
    /// </summary>
    internal int? PauseAtEpoch { get; init; }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the first invalid option and its fix; returns this.
    /// <paramref name="owner"/> prefixes the option in the message: the options class the user set it on.
    /// </summary>
    public TrainingOptions Validate(string owner = nameof(TrainingOptions))
    {
        void Require(bool valid, string option, string reason)
        {
            if (!valid) throw new ArgumentException($"{owner}.{option}: {reason}", option);
        }

        Require(Epochs >= 1, nameof(Epochs), $"must be >= 1, got {Epochs}.");
        Require(BatchSize >= 2, nameof(BatchSize), $"must be >= 2 (batch statistics need two examples), got {BatchSize}.");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), $"must be a positive number, got {LearningRate}.");
        Require(Momentum >= 0 && Momentum < 1, nameof(Momentum), $"must be in [0, 1), got {Momentum}.");
        Require(!Nesterov || Momentum > 0, nameof(Nesterov), "needs Momentum > 0.");
        Require(WeightDecay >= 0, nameof(WeightDecay), $"must be >= 0, got {WeightDecay}.");
        Require(NormWeightDecay >= 0, nameof(NormWeightDecay), $"must be >= 0, got {NormWeightDecay}.");
        Require(GateWeightDecay >= 0, nameof(GateWeightDecay), $"must be >= 0, got {GateWeightDecay}.");
        Require(Enum.IsDefined(Schedule), nameof(Schedule), $"{Schedule} is not one of {string.Join(", ", Enum.GetNames<LearningRateScheduleKind>())}.");
        // Strictly: a repeated milestone would multiply the rate by ScheduleGamma twice at that epoch.
        Require(Milestones is null || Milestones.All(m => m >= 1) && Milestones.Zip(Milestones.Skip(1)).All(p => p.First < p.Second), nameof(Milestones),
            $"must be increasing epochs >= 1, each once; got [{string.Join(", ", Milestones ?? [])}].");
        Require(StepEpochs >= 1, nameof(StepEpochs), $"must be >= 1, got {StepEpochs}.");
        Require(ScheduleGamma > 0 && ScheduleGamma <= 1, nameof(ScheduleGamma), $"must be in (0, 1], got {ScheduleGamma}.");
        Require(WarmupEpochs >= 0 && WarmupEpochs <= Epochs, nameof(WarmupEpochs), $"must be in [0, Epochs], got {WarmupEpochs}.");
        Require(LabelSmoothing >= 0 && LabelSmoothing < 1, nameof(LabelSmoothing), $"must be in [0, 1), got {LabelSmoothing}.");
        Require(CropPadding >= 0, nameof(CropPadding), $"must be >= 0, got {CropPadding}.");
        Require(PixelMean.Count >= 1 && PixelMean.All(double.IsFinite), nameof(PixelMean), "needs finite values: one, or one per channel.");
        Require(PixelStd.Count >= 1 && PixelStd.All(s => s > 0 && double.IsFinite(s)), nameof(PixelStd), "needs positive finite values: one, or one per channel.");
        Require(EarlyStopping is null || EarlyStopping.Patience >= 1 && EarlyStopping.MinDelta >= 0, nameof(EarlyStopping),
            "needs Patience >= 1 and MinDelta >= 0.");
        Require(Enum.IsDefined(ValidationMetric), nameof(ValidationMetric), $"{ValidationMetric} is not one of {string.Join(", ", Enum.GetNames<ValidationMetric>())}.");
        Require(CheckpointEverySteps >= 0, nameof(CheckpointEverySteps), $"must be >= 0, got {CheckpointEverySteps}.");
        Require(CheckpointEverySteps == 0 || WorkspacePath is not null, nameof(CheckpointEverySteps), "needs a WorkspacePath to write checkpoints to.");
        Require(ProgressEverySteps >= 1, nameof(ProgressEverySteps), $"must be >= 1, got {ProgressEverySteps}.");
        Require(PauseAtEpoch is null or >= 1, nameof(PauseAtEpoch), $"must be >= 1, got {PauseAtEpoch}.");
        Require(PrefetchBatches >= 1, nameof(PrefetchBatches), $"must be >= 1, got {PrefetchBatches}.");
        return this;
    }
}
