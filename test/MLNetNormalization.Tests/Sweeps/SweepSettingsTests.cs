using MLNetNormalization.Sweeps;
using Microsoft.ML;
using MLNetNormalization.Backbones;
using MLNetNormalization.Training;

namespace MLNetNormalization.Tests.Sweeps;

/// <summary>Candidates (grid, seeded random draws) and the settings a sweep refuses, all before anything is trained.</summary>
public sealed class SweepSettingsTests
{
    [Fact]
    public void DefaultGridIsEveryNormalizerVariantTimesEveryOptimizerValue()
    {
        var grid = new NormalizerSearchSpace().EnumerateGrid();
        // bn, ghost:b=32, bgn:g=1,b=2, bgn:g=2,b=2, mn:k=2, mgn:k=2, gn:g=1, gn:g=2, en:g=1, en:g=2, hn:g=1, hn:g=2: 12 variants x 2 learning rates.
        string[] variants = ["bn", "ghost:b=32", "bgn:g=1,b=2", "bgn:g=2,b=2", "mn:k=2", "mgn:k=2", "gn:g=1", "gn:g=2", "en:g=1", "en:g=2", "hn:g=1", "hn:g=2"];
        Assert.Equal(variants.SelectMany(v => new[] { (v, 0.01), (v, 0.1) }), grid.Select(c => (c.Normalizer, c.LearningRate)));
        Assert.All(grid, c => Assert.Equal((1e-4, 0.0, 10), (c.WeightDecay, c.NormWeightDecay, c.Epochs)));
        // Every string is one the factory takes.
        Assert.All(grid, c => Assert.NotNull(MLNetNormalization.Normalization.NormalizerFactory.Create(c.Normalizer)));

        var pairs = new NormalizerSearchSpace
        {
            Normalizers = [NormalizerKind.HeterologousNorm, NormalizerKind.BatchGroupNorm], HeterologousPairs = [new("bn", "en1"), new("gn2", "in")],
            Groups = [2, 5], ExamplesPerGroup = [2, 4], LearningRates = [0.1], WeightDecays = [0, 1e-4], NormWeightDecays = [0], Epochs = [3, 6],
        }.EnumerateGrid();
        string[] pairVariants = ["hn:mean=bn,std=en1", "hn:mean=gn2,std=in", "bgn:g=2,b=2", "bgn:g=2,b=4", "bgn:g=5,b=2", "bgn:g=5,b=4"];
        Assert.Equal(
            from v in pairVariants from wd in new[] { 0, 1e-4 } from e in new[] { 3, 6 } select (v, wd, e),
            pairs.Select(c => (c.Normalizer, c.WeightDecay, c.Epochs)));
    }

    [Fact]
    public void SeededRandomDrawsAreReproducibleDistinctAndDifferAcrossSeeds()
    {
        var ml = new MLContext(seed: 1);
        IReadOnlyList<SweepTrialOptions> Draw(int seed, int? trials = 6) =>
            ml.MulticlassClassification.CreateNormalizerSweep(new NormalizerSweepSettings { Strategy = SweepStrategy.Random, Seed = seed, MaxTrials = trials }).Candidates;

        var grid = new NormalizerSearchSpace().EnumerateGrid();
        var first = Draw(7);
        Assert.Equal(6, first.Count);
        Assert.Equal(first, Draw(7));
        Assert.Equal(6, first.Distinct().Count());
        Assert.All(first, c => Assert.Contains(c, grid));
        Assert.NotEqual(first, Draw(8));
        Assert.NotEqual(first, Draw(9));
        // More trials than grid points: the whole grid once, in a drawn order.
        var all = Draw(7, 100);
        Assert.Equal(grid.Count, all.Count);
        Assert.Equal(grid.ToHashSet(), all.ToHashSet());
        Assert.NotEqual(grid, all);
        // Without a seed in the settings, the MLContext's seed decides: the same context seed gives the same draws.
        IReadOnlyList<SweepTrialOptions> FromContext(int contextSeed) =>
            new MLContext(contextSeed).MulticlassClassification.CreateNormalizerSweep(new NormalizerSweepSettings { MaxTrials = 6 }).Candidates;
        Assert.Equal(FromContext(3), FromContext(3));
        Assert.NotEqual(FromContext(3), FromContext(4));
    }

    [Fact]
    public void DrawsTakeTheNormalizerKindsInTurn()
    {
        var ml = new MLContext(seed: 1);
        foreach (var seed in Enumerable.Range(1, 20))
        {
            // The default space: 8 kinds in 24 points (BGN, GN, EN and HN with two variants each, every variant with two rates).
            var random = ml.MulticlassClassification.CreateNormalizerSweep(new NormalizerSweepSettings { Strategy = SweepStrategy.Random, Seed = seed, MaxTrials = 10 }).Candidates;
            Assert.Equal(8, random.Take(8).Select(c => c.Kind).Distinct().Count());
            Assert.Equal(10, random.Distinct().Count());

            // Halving over five kinds in 14 points (HN and GN with groups 1 and 2), 9 of them: every kind, none more than twice.
            var halving = ml.MulticlassClassification.CreateNormalizerSweep(new NormalizerSweepSettings
            {
                Strategy = SweepStrategy.SuccessiveHalving, Seed = seed,
                SearchSpace = new NormalizerSearchSpace
                {
                    Normalizers = [NormalizerKind.BatchNorm, NormalizerKind.GhostBatchNorm, NormalizerKind.ModeNorm, NormalizerKind.HeterologousNorm, NormalizerKind.GroupNorm],
                    LearningRates = [0.05, 0.1], Epochs = [3],
                },
            }).Candidates;
            Assert.Equal(9, halving.Count);
            Assert.All(halving.GroupBy(c => c.Kind), kind => Assert.InRange(kind.Count(), 1, 2));
            Assert.Equal(5, halving.Select(c => c.Kind).Distinct().Count());
        }
    }

    public static TheoryData<string, Action<NormalizerSweepSettings>> BadSettings => new()
    {
        { "NormalizerSweepSettings.MaxTrials", s => s.MaxTrials = 0 },
        { "NormalizerSweepSettings.TimeBudget", s => s.TimeBudget = TimeSpan.Zero },
        { "NormalizerSweepSettings.InferenceAlphas", s => s.InferenceAlphas = [0, 1.5] },
        { "NormalizerSweepSettings.InferenceAlphas", s => s.InferenceAlphas = [] },
        { "NormalizerSweepSettings.SearchSpace.LearningRates", s => s.SearchSpace.LearningRates = [] },
        { "NormalizerSweepSettings.SearchSpace.LearningRates", s => s.SearchSpace.LearningRates = [0.1, -1] },
        { "NormalizerSweepSettings.SearchSpace.Groups", s => s.SearchSpace.Groups = [2, 2] },
        { "NormalizerSweepSettings.SearchSpace.Epochs", s => s.SearchSpace.Epochs = [0] },
        { "NormalizerSweepSettings.SearchSpace.GhostBatchSizes", s => s.SearchSpace.GhostBatchSizes = [256] },   // BatchSize 128
        { "NormalizerSweepSettings.SearchSpace.Modes", s => s.SearchSpace.Modes = [0] },
        { "NormalizerSweepSettings.MaxTrials", s => { s.Strategy = SweepStrategy.Grid; s.MaxTrials = 5; } },   // the grid has 24
        { "NormalizerSweepSettings.SearchSpace.Epochs", s => { s.Strategy = SweepStrategy.SuccessiveHalving; s.SearchSpace.Epochs = [5, 10]; } },
        { "NormalizerSweepSettings.Eta", s => { s.Strategy = SweepStrategy.SuccessiveHalving; s.Eta = 1; } },
        { "NormalizerSweepSettings.MinEpochs", s => { s.Strategy = SweepStrategy.SuccessiveHalving; s.MinEpochs = 10; } },
        { "NormalizerSweepSettings.BaseOptions.EarlyStopping", s => s.BaseOptions.EarlyStopping = new EarlyStoppingOptions() },
        { "NormalizerSweepSettings.BaseOptions.ValidationFraction", s => s.BaseOptions.ValidationFraction = 0.2 },
        { "NormalizerSweepSettings.BaseOptions.NormalizerSpecification", s => s.BaseOptions.NormalizerSpecification = "bn" },
        { "NormalizerSweepSettings.BaseOptions.WorkspacePath", s => s.BaseOptions.WorkspacePath = "runs" },
        { "NormalizerSweepSettings.LogPath", s => s.LogPath = " " },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void BadSettingsAreRefusedWhenTheExperimentIsCreatedNamingTheSetting(string option, Action<NormalizerSweepSettings> spoil)
    {
        var settings = new NormalizerSweepSettings();
        spoil(settings);
        var error = Assert.ThrowsAny<ArgumentException>(() => new MLContext(1).MulticlassClassification.CreateNormalizerSweep(settings));
        Assert.StartsWith(option + ":", error.Message.Replace(" is empty", ":", StringComparison.Ordinal).Replace(" lists ", ": ", StringComparison.Ordinal));
    }

    [Fact]
    public void SettingsAreCopiedWhenTheExperimentIsCreated()
    {
        var settings = new NormalizerSweepSettings { Strategy = SweepStrategy.Grid, SearchSpace = new() { Normalizers = [NormalizerKind.BatchNorm], LearningRates = [0.1], Epochs = [1] } };
        var experiment = new MLContext(1).MulticlassClassification.CreateNormalizerSweep(settings);
        settings.SearchSpace.LearningRates = [0.5, 0.6];
        settings.BaseOptions.Architecture = Architecture.Vgg11;
        Assert.Equal([new SweepTrialOptions("bn", NormalizerKind.BatchNorm, 0.1, 1e-4, 0, 1)], experiment.Candidates);
        Assert.Equal(Architecture.ResNet20, experiment.Settings.BaseOptions.Architecture);
    }

    [Fact]
    public void ACandidateTheArchitectureCannotTakeIsRefusedBeforeTraining()
    {
        var (ml, train, validation) = SweepTestData.Load();
        var settings = new NormalizerSweepSettings
        {
            BaseOptions = SweepTestData.BaseOptions(),   // LeNet: 20 and 50 channels
            SearchSpace = new() { Normalizers = [NormalizerKind.BatchNorm, NormalizerKind.GroupNorm], Groups = [4], LearningRates = [0.1], Epochs = [1] },
            Strategy = SweepStrategy.Grid,
        };
        var recorder = new SweepTestData.Recorder();
        var error = Assert.Throws<ArgumentException>(() => ml.MulticlassClassification.CreateNormalizerSweep(settings).Execute(train, validation, recorder));
        Assert.StartsWith("NormalizerSweepSettings.SearchSpace: the candidate normalizer \"gn:g=4\" cannot be trained with LeNet", error.Message);
        Assert.Contains("has 50 channels", error.Message);   // the first layer's 20 divide by 4, the second's 50 do not
        Assert.Empty(recorder.Reports);
    }
}
