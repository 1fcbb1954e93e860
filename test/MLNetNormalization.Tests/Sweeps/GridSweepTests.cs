using MLNetNormalization.Sweeps;
using Microsoft.ML;
using MLNetNormalization.Tests.Support;

namespace MLNetNormalization.Tests.Sweeps;

/// <summary>The grid strategy on real training: every grid point once, in order, each trial's record consistent with an independent count.</summary>
[Collection(TestCollections.GlobalRandom)]
public sealed class GridSweepTests
{
    [Fact]
    public void GridRunsEveryPointOnceAndKeepsTheBestModelAtItsAlpha()
    {
        var (ml, train, validation) = SweepTestData.Load();
        var settings = new NormalizerSweepSettings
        {
            BaseOptions = SweepTestData.BaseOptions(),
            SearchSpace = new NormalizerSearchSpace
            {
                Normalizers = [NormalizerKind.BatchNorm, NormalizerKind.GroupNorm], Groups = [1, 2], LearningRates = [0.05, 0.1], Epochs = [1],
            },
            Strategy = SweepStrategy.Grid,
            InferenceAlphas = [0, 0.5, 1],
        };
        var recorder = new SweepTestData.Recorder();
        using var result = ml.MulticlassClassification.CreateNormalizerSweep(settings).Execute(train, validation, recorder);

        // The grid written out by hand: normalizer variants outermost, then learning rates.
        SweepTrialOptions[] expected =
        [
            new("bn", NormalizerKind.BatchNorm, 0.05, 1e-4, 0, 1), new("bn", NormalizerKind.BatchNorm, 0.1, 1e-4, 0, 1),
            new("gn:g=1", NormalizerKind.GroupNorm, 0.05, 1e-4, 0, 1), new("gn:g=1", NormalizerKind.GroupNorm, 0.1, 1e-4, 0, 1),
            new("gn:g=2", NormalizerKind.GroupNorm, 0.05, 1e-4, 0, 1), new("gn:g=2", NormalizerKind.GroupNorm, 0.1, 1e-4, 0, 1),
        ];
        Assert.Equal(expected, result.Trials.Select(t => t.Options));
        Assert.Equal(Enumerable.Range(0, 6), result.Trials.Select(t => t.Index));
        Assert.Equal(Enumerable.Range(0, 6), recorder.Indices(NormalizerSweepProgressKind.TrialStarted));
        Assert.Equal(Enumerable.Range(0, 6), recorder.Indices(NormalizerSweepProgressKind.TrialFinished));
        Assert.Equal(6, result.CandidateCount);
        Assert.False(result.BudgetExhausted);

        foreach (var trial in result.Trials)
        {
            var epoch = Assert.Single(trial.History);
            Assert.Equal(1, epoch.Epoch);
            Assert.False(trial.StoppedEarly);
            // One epoch: the model is that epoch's, so its final validation is the epoch's.
            Assert.Equal(epoch.ValidationMicroAccuracy, trial.MicroAccuracy);
            Assert.Equal(epoch.ValidationLogLoss!.Value, trial.LogLoss, 1e-9);
            Assert.Equal([0, 0.5, 1], trial.AlphaCurve.Select(p => p.Alpha));
            Assert.Equal(trial.AlphaCurve.Max(p => p.MicroAccuracy), trial.BestAlphaMicroAccuracy);
            Assert.InRange(trial.BestAlphaMicroAccuracy, 0.3, 1);   // one epoch on 320 images learns something (chance is 0.1)
        }
        // The model as trained is at each layer's default alpha: GN's is 1 (the example's own statistics), BN's 0 (running ones).
        foreach (var trial in result.Trials.Where(t => t.Options.Kind == NormalizerKind.GroupNorm))
            Assert.Equal(trial.MicroAccuracy, trial.AlphaCurve[^1].MicroAccuracy);
        foreach (var trial in result.Trials.Where(t => t.Options.Kind == NormalizerKind.BatchNorm))
            Assert.Equal(trial.MicroAccuracy, trial.AlphaCurve[0].MicroAccuracy);

        var best = result.Trials.OrderByDescending(t => t.BestAlphaMicroAccuracy).ThenBy(t => t.Index).First();
        Assert.Equal(best, result.BestTrial);
        Assert.Equal(best.BestAlpha, result.BestModel.InferenceAlpha);
        Assert.Equal(best.BestAlphaMicroAccuracy, SweepTestData.CountedAccuracy(result.BestModel, validation), 12);

        using var folder = new TempDirectory();
        ml.Model.Save(result.BestModel, train.Schema, folder.File("best.zip"));
        var loaded = ml.Model.Load(folder.File("best.zip"), out _);
        Assert.Equal(best.BestAlphaMicroAccuracy, SweepTestData.CountedAccuracy(loaded, validation), 12);
    }
}
