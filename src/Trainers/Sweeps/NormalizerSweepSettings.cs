using System.Globalization;

namespace MLNetNormalization.Sweeps;

/// <summary>How a sweep picks and runs its trials.</summary>
public enum SweepStrategy
{
    /// <summary>Every point of the grid (<see cref="NormalizerSearchSpace.EnumerateGrid"/>), in order, each trained to its epochs.</summary>
    Grid,

    /// <summary>
    /// <see cref="NormalizerSweepSettings.MaxTrials"/> distinct grid points in an order drawn from the seed, each trained to
    /// its epochs. The draw takes the normalizer kinds in turn, so every kind is tried once MaxTrials reaches their number.
    /// </summary>
    Random,

    /// <summary>
    /// Successive halving: <see cref="NormalizerSweepSettings.MaxTrials"/> distinct grid points drawn from the seed (the kinds
    /// in turn, as for <see cref="Random"/>) all train
    /// <see cref="NormalizerSweepSettings.MinEpochs"/> epochs; the best ceil(n / <see cref="NormalizerSweepSettings.Eta"/>) by
    /// validation MicroAccuracy continue to MinEpochs·Eta epochs, and so on until the full epochs; the others are stopped early.
    /// </summary>
    SuccessiveHalving,
}

/// <summary>
/// Settings of a normalizer sweep (<c>ml.MulticlassClassification.CreateNormalizerSweep(settings)</c>), in the manner of
/// ML.NET AutoML's experiment settings: what is swept (<see cref="SearchSpace"/>), what is not (<see cref="BaseOptions"/>),
/// how trials are chosen (<see cref="Strategy"/>), the limits (<see cref="MaxTrials"/>, <see cref="TimeBudget"/>) and the
/// log that lets a sweep resume (<see cref="LogPath"/>). Copied when the experiment is created.
/// </summary>
public sealed class NormalizerSweepSettings
{
    /// <summary>The default inference alphas tuned after each trial.</summary>
    public static IReadOnlyList<double> DefaultInferenceAlphas { get; } = [0, 0.25, 0.5, 0.75, 1];

    /// <summary>
    /// The trainer options every trial starts from: architecture, batch size, schedule, momentum, augmentation, columns,
    /// device, seed. A trial sets its normalizer, LearningRate, WeightDecay, NormWeightDecay and Epochs from the search
    /// space (their values here are not used) and its validation set from <c>Execute</c>. ValidationSet,
    /// ValidationFraction, EarlyStopping, WorkspacePath, MetricsCallback, CancellationToken, NormalizerSpecification and
    /// InferenceAlpha belong to the sweep and must be left unset. Default <c>new ImageClassifierWithNormOptions()</c> (ResNet20, batch 128).
    /// </summary>
    public ImageClassifierWithNormOptions BaseOptions { get; set; } = new();

    /// <summary>What is swept. Default <c>new NormalizerSearchSpace()</c> (see its members' defaults).</summary>
    public NormalizerSearchSpace SearchSpace { get; set; } = new();

    /// <summary>How trials are picked and run. Default <see cref="SweepStrategy.Random"/>.</summary>
    public SweepStrategy Strategy { get; set; } = SweepStrategy.Random;

    /// <summary>
    /// Trials (candidates) at most, >= 1. Default null: the whole grid for <see cref="SweepStrategy.Grid"/>, 10 for
    /// Random, 9 for SuccessiveHalving. Random and halving draw this many distinct grid points, the normalizer kinds in
    /// turn (the whole grid, in drawn order, when it is smaller). For Grid a value below the grid's size is an error (restrict the search space, or use Random).
    /// </summary>
    public int? MaxTrials { get; set; }

    /// <summary>
    /// Wall-clock time one <c>Execute</c> may take, > 0. Default null (no limit). No trial (or halving rung) is started
    /// when less than one epoch's measured time is left, and a trial still training at the deadline is cancelled: it is
    /// not logged, and an Execute with the same settings and log continues it from its last epoch's checkpoint. When the
    /// budget ends a successive-halving sweep, the trials paused at a rung (trained to it and waiting for the next) are
    /// finished there as stopped early and logged, so that every trial that reached a rung is in the result. A budget
    /// shorter than one epoch is refused as soon as the first epoch's time can be estimated (at the first progress report).
    /// </summary>
    public TimeSpan? TimeBudget { get; set; }

    /// <summary>
    /// Seed of the random strategies' draws and of every trial's training (all trials train with the same seed, so that
    /// they differ only by their options). Default null: drawn from the MLContext when the experiment is created (a
    /// <c>new MLContext(seed: 1)</c> gives the same sweep each time; without a context seed, set this to resume a sweep).
    /// </summary>
    public int? Seed { get; set; }

    /// <summary>Successive halving's reduction factor, >= 2: each rung keeps the best ceil(n / Eta) trials and multiplies the epochs by Eta. Default 3.</summary>
    public int Eta { get; set; } = 3;

    /// <summary>Successive halving's first rung: epochs every candidate trains before the first cut, >= 1 and below the full epochs. Default 1.</summary>
    public int MinEpochs { get; set; } = 1;

    /// <summary>Inference alphas measured on the validation data after each trial, without retraining, each in [0, 1]. Default [0, 0.25, 0.5, 0.75, 1].</summary>
    public IReadOnlyList<double> InferenceAlphas { get; set; } = DefaultInferenceAlphas;

    /// <summary>
    /// The sweep's log: JSON lines, a header with the settings, then one line per finished trial, appended and flushed as
    /// each finishes. Beside it, the folder "&lt;log path without extension&gt;.trials" holds the unfinished trials'
    /// checkpoints and the best trial's model ("trial-NNNN/model.zip", saved to a temporary file and renamed). Running
    /// the sweep again with the same settings and log (after a kill, say) reads the finished trials instead of training
    /// them again; a log written with other settings is refused. Default null: no log, no resuming.
    /// </summary>
    public string? LogPath { get; set; }

    /// <summary>A copy (the base options and search space copied too), so later changes to this instance change nothing.</summary>
    internal NormalizerSweepSettings Clone() => new()
    {
        BaseOptions = BaseOptions?.Clone()!, SearchSpace = SearchSpace?.Clone()!, Strategy = Strategy, MaxTrials = MaxTrials, TimeBudget = TimeBudget,
        Seed = Seed, Eta = Eta, MinEpochs = MinEpochs, InferenceAlphas = InferenceAlphas is null ? null! : [.. InferenceAlphas], LogPath = LogPath,
    };

    /// <summary>Checks every setting, naming the first invalid one and its fix, and returns the candidates in trial order.</summary>
    internal IReadOnlyList<SweepTrialOptions> Validate(int seed)
    {
        if (BaseOptions is null) throw Invalid(nameof(BaseOptions), "is null; give the trainer options trials start from (new ImageClassifierWithNormOptions { Architecture = ... }).");
        if (SearchSpace is null) throw Invalid(nameof(SearchSpace), "is null; give a NormalizerSearchSpace (its defaults sweep the papers' normalizers).");
        var owned = new (bool IsSet, string Name, string Why)[]
        {
            (BaseOptions.ValidationSet is not null, nameof(ImageClassifierWithNormOptions.ValidationSet), "the sweep validates on the validation data given to Execute"),
            (BaseOptions.ValidationFraction != 0, nameof(ImageClassifierWithNormOptions.ValidationFraction), "the sweep validates on the validation data given to Execute"),
            (BaseOptions.EarlyStopping is not null, nameof(ImageClassifierWithNormOptions.EarlyStopping), "trials are compared at their planned epochs (use SweepStrategy.SuccessiveHalving to stop trials early)"),
            (BaseOptions.WorkspacePath is not null, nameof(ImageClassifierWithNormOptions.WorkspacePath), "the sweep keeps trial checkpoints beside LogPath"),
            (BaseOptions.MetricsCallback is not null, nameof(ImageClassifierWithNormOptions.MetricsCallback), "training progress comes to Execute's progress handler"),
            (BaseOptions.CancellationToken.CanBeCanceled, nameof(ImageClassifierWithNormOptions.CancellationToken), "give the token to Execute"),
            (BaseOptions.NormalizerSpecification is not null, nameof(ImageClassifierWithNormOptions.NormalizerSpecification), "the normalizer comes from SearchSpace"),
            (BaseOptions.InferenceAlpha is not null, nameof(ImageClassifierWithNormOptions.InferenceAlpha), "the sweep tunes the alpha (InferenceAlphas)"),
        };
        foreach (var (isSet, name, why) in owned)
            if (isSet) throw Invalid($"{nameof(BaseOptions)}.{name}", $"is set, but {why}; leave it unset.");
        if (!Enum.IsDefined(Strategy)) throw Invalid(nameof(Strategy), $"{Strategy} is not one of {string.Join(", ", Enum.GetNames<SweepStrategy>())}.");
        if (MaxTrials is < 1) throw Invalid(nameof(MaxTrials), $"must be >= 1, got {MaxTrials}.");
        if (TimeBudget is { } budget && budget <= TimeSpan.Zero)
            throw Invalid(nameof(TimeBudget), $"is {budget}, which leaves no time for a single epoch; give a positive budget (at least one epoch's time; a few minutes for small data on a CPU), or null for no limit.");
        if (InferenceAlphas is null || InferenceAlphas.Count == 0)
            throw Invalid(nameof(InferenceAlphas), "is empty; give the alphas to measure after each trial, each in [0, 1] (default [0, 0.25, 0.5, 0.75, 1]).");
        foreach (var alpha in InferenceAlphas)
            if (!(alpha is >= 0 and <= 1)) throw Invalid(nameof(InferenceAlphas), $"{alpha.ToString(CultureInfo.InvariantCulture)} is outside [0, 1] (0: running statistics, 1: the example's own).");
        if (InferenceAlphas.Distinct().Count() != InferenceAlphas.Count) throw Invalid(nameof(InferenceAlphas), "lists an alpha twice; give each once.");
        if (LogPath is not null && string.IsNullOrWhiteSpace(LogPath)) throw Invalid(nameof(LogPath), "is blank; give a file path (\"runs/sweep.jsonl\") or null for no log.");

        SearchSpace.Validate(BaseOptions.BatchSize);
        var grid = SearchSpace.EnumerateGrid();
        switch (Strategy)
        {
            case SweepStrategy.Grid:
                if (MaxTrials is { } max && max < grid.Count)
                    throw Invalid(nameof(MaxTrials), $"is {max}, but the grid has {grid.Count} points and the Grid strategy runs them all; raise MaxTrials (or leave it null), restrict SearchSpace, or use SweepStrategy.Random to sample {max} of them.");
                return grid;
            case SweepStrategy.SuccessiveHalving:
                if (SearchSpace.Epochs.Count != 1)
                    throw Invalid($"{nameof(SearchSpace)}.{nameof(NormalizerSearchSpace.Epochs)}",
                        $"lists {SearchSpace.Epochs.Count} values ({string.Join(", ", SearchSpace.Epochs)}), but successive halving trains every candidate towards the same full epochs; give exactly one value (the full epochs, for example [{SearchSpace.Epochs.Max()}]).");
                if (Eta < 2) throw Invalid(nameof(Eta), $"must be >= 2 (each rung keeps 1/Eta of the trials), got {Eta}.");
                if (MinEpochs < 1 || MinEpochs >= SearchSpace.Epochs[0])
                    throw Invalid(nameof(MinEpochs), $"is {MinEpochs}; it must be >= 1 and below the full epochs {SearchSpace.Epochs[0]} (SearchSpace.Epochs), so that the first rung stops before the end.");
                return Draw(grid, MaxTrials ?? 9, seed);
            default:
                return Draw(grid, MaxTrials ?? 10, seed);
        }
    }

    /// <summary>The halving rungs' epochs: MinEpochs, MinEpochs·Eta, ... below the full epochs, then the full epochs.</summary>
    internal static IReadOnlyList<int> Rungs(int minEpochs, int eta, int fullEpochs)
    {
        var rungs = new List<int>();
        for (long epochs = minEpochs; epochs < fullEpochs; epochs *= eta) rungs.Add((int)epochs);
        rungs.Add(fullEpochs);
        return rungs;
    }

    // A seeded shuffle of the whole grid, dealt out kind by kind (the first point of each kind, in the order the kinds come
    // up, then the second of each, ...), then its first count points: distinct points in an order the seed decides, and
    // every kind of the search space among them once count reaches the number of kinds.
    private static IReadOnlyList<SweepTrialOptions> Draw(IReadOnlyList<SweepTrialOptions> grid, int count, int seed)
    {
        var order = grid.ToArray();
        new Random(seed).Shuffle(order);
        var dealt = order.GroupBy(c => c.Kind)
            .SelectMany(kind => kind.Select((candidate, turn) => (candidate, turn)))
            .OrderBy(c => c.turn)   // stable: within a turn, the kinds in the order they came up
            .Select(c => c.candidate)
            .ToArray();
        return dealt[..Math.Min(count, dealt.Length)];
    }

    private static ArgumentException Invalid(string option, string reason) => new($"{nameof(NormalizerSweepSettings)}.{option}: {reason}", option);
}
