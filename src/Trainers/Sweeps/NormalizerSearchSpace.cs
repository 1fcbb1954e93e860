using System.Globalization;
using MLNetNormalization.Normalization;

namespace MLNetNormalization.Sweeps;

/// <summary>One heterologous-normalization pair: the pixel set the mean is pooled over and the one the std is (bn, in, ln, gn&lt;G&gt;, en&lt;G&gt;), written "hn:mean=Mean,std=Std".</summary>
public sealed record HeterologousPair(string Mean, string Std);

/// <summary>
/// What a sweep varies: the normalizer with its parameters, and the optimizer's learning rate, weight decays and epochs.
/// Every member is a list of values to try; restrict one to a single value to hold it fixed. A normalizer's parameters
/// apply to the kinds that take them (<see cref="Modes"/> to ModeNorm and ModeGroupNorm, <see cref="Groups"/> to
/// GroupNorm, BatchGroupNorm, ExtendedNorm and HeterologousNorm, ...); the grid is every normalizer variant times every
/// learning rate, weight decay, norm weight decay and epoch count (see <see cref="EnumerateGrid"/>).
/// </summary>
public sealed class NormalizerSearchSpace
{
    /// <summary>
    /// The normalizer kinds. Default BatchNorm, GhostBatchNorm, BatchGroupNorm, ModeNorm, ModeGroupNorm, GroupNorm,
    /// ExtendedNorm, HeterologousNorm (the papers' layers and their baselines; LayerNorm, InstanceNorm and
    /// SwitchableNorm may be added).
    /// </summary>
    public IReadOnlyList<NormalizerKind> Normalizers { get; set; } =
    [
        NormalizerKind.BatchNorm, NormalizerKind.GhostBatchNorm, NormalizerKind.BatchGroupNorm, NormalizerKind.ModeNorm,
        NormalizerKind.ModeGroupNorm, NormalizerKind.GroupNorm, NormalizerKind.ExtendedNorm, NormalizerKind.HeterologousNorm,
    ];

    /// <summary>Modes K of ModeNorm and ModeGroupNorm, each >= 1. Default [<see cref="NormalizerFactory.DefaultModes"/>].</summary>
    public IReadOnlyList<int> Modes { get; set; } = [NormalizerFactory.DefaultModes];

    /// <summary>Examples per ghost batch of GhostBatchNorm, each >= 1 and at most the base options' BatchSize. Default: the trainer's default <see cref="ImageClassifierWithNormOptions.GhostBatchSize"/> alone.</summary>
    public IReadOnlyList<int> GhostBatchSizes { get; set; } = [TrainerDefaults.GhostBatchSize];

    /// <summary>
    /// Channel groups of GroupNorm, BatchGroupNorm, ExtendedNorm and (without <see cref="HeterologousPairs"/>) the std of
    /// HeterologousNorm; each must divide every normalized layer's channels. Default [1, 2], which every backbone's
    /// channel counts divide (LeNet's 20 and 50 do not divide by 4 or 8).
    /// </summary>
    public IReadOnlyList<int> Groups { get; set; } = [1, 2];

    /// <summary>Examples pooled per group by BatchGroupNorm, each >= 1 and at most the base options' BatchSize. Default: the trainer's default <see cref="ImageClassifierWithNormOptions.ExamplesPerGroup"/> alone.</summary>
    public IReadOnlyList<int> ExamplesPerGroup { get; set; } = [TrainerDefaults.ExamplesPerGroup];

    private static readonly ImageClassifierWithNormOptions TrainerDefaults = new();

    /// <summary>
    /// HeterologousNorm's (mean set, std set) pairs, written "hn:mean=..,std=..". Default null: HeterologousNorm takes
    /// <see cref="Groups"/>, "hn:g=G" (the mean of BN, the std of EN with G groups).
    /// </summary>
    public IReadOnlyList<HeterologousPair>? HeterologousPairs { get; set; }

    /// <summary>Peak SGD learning rates, each positive. Default [0.01, 0.1].</summary>
    public IReadOnlyList<double> LearningRates { get; set; } = [0.01, 0.1];

    /// <summary>Weight decays of convolution and linear weights, each >= 0. Default [1e-4].</summary>
    public IReadOnlyList<double> WeightDecays { get; set; } = [1e-4];

    /// <summary>Weight decays of the normalizers' gamma and beta, each >= 0. Default [0].</summary>
    public IReadOnlyList<double> NormWeightDecays { get; set; } = [0];

    /// <summary>
    /// Epochs per trial, each >= 1. Default [10]. Successive halving takes exactly one value: the epochs a trial that is
    /// never stopped trains for (its learning-rate schedule is planned for them from the start).
    /// </summary>
    public IReadOnlyList<int> Epochs { get; set; } = [10];

    /// <summary>
    /// The normalizer factory strings this space gives, in order: the kinds in <see cref="Normalizers"/> order, each with
    /// its parameters' values in list order (BatchGroupNorm: groups, then examples per group).
    /// </summary>
    /// <exception cref="ArgumentException">A list is empty, repeats a value, or holds an invalid value (the message names it).</exception>
    public IReadOnlyList<(NormalizerKind Kind, string Normalizer)> EnumerateNormalizers()
    {
        Validate(batchSize: null);
        var variants = new List<(NormalizerKind, string)>();
        foreach (var kind in Normalizers)
        {
            switch (kind)
            {
                case NormalizerKind.BatchNorm: variants.Add((kind, "bn")); break;
                case NormalizerKind.LayerNorm: variants.Add((kind, "ln")); break;
                case NormalizerKind.InstanceNorm: variants.Add((kind, "in")); break;
                case NormalizerKind.SwitchableNorm: variants.Add((kind, "sn")); break;
                case NormalizerKind.GhostBatchNorm: variants.AddRange(GhostBatchSizes.Select(b => (kind, Text($"ghost:b={b}")))); break;
                case NormalizerKind.ModeNorm: variants.AddRange(Modes.Select(k => (kind, Text($"mn:k={k}")))); break;
                case NormalizerKind.ModeGroupNorm: variants.AddRange(Modes.Select(k => (kind, Text($"mgn:k={k}")))); break;
                case NormalizerKind.GroupNorm: variants.AddRange(Groups.Select(g => (kind, Text($"gn:g={g}")))); break;
                case NormalizerKind.ExtendedNorm: variants.AddRange(Groups.Select(g => (kind, Text($"en:g={g}")))); break;
                case NormalizerKind.BatchGroupNorm:
                    variants.AddRange(Groups.SelectMany(g => ExamplesPerGroup.Select(b => (kind, Text($"bgn:g={g},b={b}")))));
                    break;
                case NormalizerKind.HeterologousNorm:
                    variants.AddRange(HeterologousPairs is { } pairs
                        ? pairs.Select(p => (kind, $"hn:mean={p.Mean},std={p.Std}"))
                        : Groups.Select(g => (kind, Text($"hn:g={g}"))));
                    break;
                default:
                    throw new ArgumentException($"NormalizerSearchSpace.Normalizers: {kind} is not one of {string.Join(", ", Enum.GetNames<NormalizerKind>())}.", nameof(Normalizers));
            }
        }
        return variants;
    }

    /// <summary>
    /// Every point of the grid, in order: normalizer variants (<see cref="EnumerateNormalizers"/>) outermost, then
    /// learning rates, weight decays, norm weight decays and epochs, each in list order. The grid strategy runs exactly these.
    /// </summary>
    /// <exception cref="ArgumentException">A list is empty, repeats a value, or holds an invalid value (the message names it).</exception>
    public IReadOnlyList<SweepTrialOptions> EnumerateGrid() =>
        [.. from normalizer in EnumerateNormalizers()
            from learningRate in LearningRates
            from weightDecay in WeightDecays
            from normWeightDecay in NormWeightDecays
            from epochs in Epochs
            select new SweepTrialOptions(normalizer.Normalizer, normalizer.Kind, learningRate, weightDecay, normWeightDecay, epochs)];

    /// <summary>Checks every list (non-empty, no value twice, each value valid); <paramref name="batchSize"/>, when known, bounds ghost sizes and examples per group.</summary>
    internal void Validate(int? batchSize)
    {
        Check(Normalizers, nameof(Normalizers), k => Enum.IsDefined(k), $"must be NormalizerKind values ({string.Join(", ", Enum.GetNames<NormalizerKind>())})");
        Check(Modes, nameof(Modes), k => k >= 1, "must be >= 1 (one mode is BN)");
        Check(GhostBatchSizes, nameof(GhostBatchSizes), b => b >= 1 && (batchSize is null || b <= batchSize),
            $"must be >= 1 and at most the base options' BatchSize{(batchSize is { } n ? Text($" {n}") : "")} (a ghost batch as large as the batch is plain BN)");
        Check(Groups, nameof(Groups), g => g >= 1, "must be >= 1");
        Check(ExamplesPerGroup, nameof(ExamplesPerGroup), b => b >= 1 && (batchSize is null || b <= batchSize),
            $"must be >= 1 and at most the base options' BatchSize{(batchSize is { } m ? Text($" {m}") : "")}");
        if (HeterologousPairs is not null)
            Check(HeterologousPairs, nameof(HeterologousPairs), p => p is not null && !string.IsNullOrWhiteSpace(p.Mean) && !string.IsNullOrWhiteSpace(p.Std),
                "needs a mean set and a std set in each pair (bn, in, ln, gn<G>, en<G>)");
        Check(LearningRates, nameof(LearningRates), r => r > 0 && double.IsFinite(r), "must be positive finite numbers");
        Check(WeightDecays, nameof(WeightDecays), d => d >= 0 && double.IsFinite(d), "must be >= 0");
        Check(NormWeightDecays, nameof(NormWeightDecays), d => d >= 0 && double.IsFinite(d), "must be >= 0");
        Check(Epochs, nameof(Epochs), e => e >= 1, "must be >= 1");
    }

    /// <summary>A copy with copies of the lists, so later changes to this instance change nothing.</summary>
    internal NormalizerSearchSpace Clone() => new()
    {
        Normalizers = [.. Normalizers ?? []], Modes = [.. Modes ?? []], GhostBatchSizes = [.. GhostBatchSizes ?? []], Groups = [.. Groups ?? []],
        ExamplesPerGroup = [.. ExamplesPerGroup ?? []], HeterologousPairs = HeterologousPairs is null ? null : [.. HeterologousPairs],
        LearningRates = [.. LearningRates ?? []], WeightDecays = [.. WeightDecays ?? []], NormWeightDecays = [.. NormWeightDecays ?? []], Epochs = [.. Epochs ?? []],
    };

    private static void Check<T>(IReadOnlyList<T>? values, string name, Func<T, bool> valid, string rule)
    {
        var option = $"NormalizerSweepSettings.SearchSpace.{name}";
        if (values is null || values.Count == 0)
            throw new ArgumentException($"{option} is empty; give at least one value to try (one value holds it fixed).", name);
        foreach (var value in values)
            if (!valid(value)) throw new ArgumentException($"{option}: {Show(value)} is invalid; its values {rule}.", name);
        var repeated = values.GroupBy(v => v).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
            throw new ArgumentException($"{option} lists {Show(repeated.Key)} {repeated.Count()} times; give each value once (a repeated value would train the same trial twice).", name);
    }

    private static string Show<T>(T value) => value switch
    {
        null => "null",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    private static string Text(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// One point of the search space: what a trial trains with, on top of the sweep's base options.
/// </summary>
/// <param name="Normalizer">The normalizer factory string ("bn", "mn:k=2", "gn:g=2", "hn:mean=bn,std=en1"), as <c>NormalizerSpecification</c> takes it.</param>
/// <param name="Kind">The normalizer kind the string is of.</param>
/// <param name="LearningRate">Peak SGD learning rate.</param>
/// <param name="WeightDecay">Weight decay of convolution and linear weights.</param>
/// <param name="NormWeightDecay">Weight decay of the normalizers' gamma and beta.</param>
/// <param name="Epochs">Epochs the trial is planned for (its learning-rate schedule's length).</param>
public sealed record SweepTrialOptions(string Normalizer, NormalizerKind Kind, double LearningRate, double WeightDecay, double NormWeightDecay, int Epochs)
{
    /// <summary>"mn:k=2 lr=0.1 wd=0.0001 norm-wd=0 epochs=10".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Normalizer} lr={LearningRate:R} wd={WeightDecay:R} norm-wd={NormWeightDecay:R} epochs={Epochs}");
}
