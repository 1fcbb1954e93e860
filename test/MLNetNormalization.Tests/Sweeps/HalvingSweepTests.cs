using MLNetNormalization.Sweeps;
using MLNetNormalization.Tests.Support;

namespace MLNetNormalization.Tests.Sweeps;

/// <summary>Successive halving: which trials it stops, by the rule and on a case whose ranking is known in advance.</summary>
[Collection(TestCollections.GlobalRandom)]
public sealed class HalvingSweepTests
{
    [Fact]
    public void HalvingStopsTheTrialsThatCannotLearnAndContinuesTheOthers()
    {
        var (ml, train, validation) = SweepTestData.Load();
        // Learning rate 1e-5 barely moves LeNet's weights in an epoch (chance is 10%); 0.1 reaches well over 40% on these images.
        var settings = new NormalizerSweepSettings
        {
            BaseOptions = SweepTestData.BaseOptions(),
            SearchSpace = new NormalizerSearchSpace { Normalizers = [NormalizerKind.BatchNorm, NormalizerKind.GroupNorm], Groups = [1], LearningRates = [0.1, 1e-5], Epochs = [2] },
            Strategy = SweepStrategy.SuccessiveHalving, MaxTrials = 4, Eta = 2, MinEpochs = 1, InferenceAlphas = [0, 1],
        };
        var recorder = new SweepTestData.Recorder();
        var experiment = ml.MulticlassClassification.CreateNormalizerSweep(settings);
        using var result = experiment.Execute(train, validation, recorder);

        Assert.Equal(4, result.Trials.Count);
        foreach (var trial in result.Trials)
        {
            var slow = trial.Options.LearningRate == 1e-5;
            Assert.Equal(slow, trial.StoppedEarly);
            Assert.Equal(slow ? 1 : 2, trial.EpochsTrained);
            Assert.Equal(2, trial.Options.Epochs);   // every trial planned for the full epochs
        }
        Assert.All(result.Trials.Where(t => t.StoppedEarly), t => Assert.InRange(t.MicroAccuracy, 0, 0.25));
        Assert.All(result.Trials.Where(t => !t.StoppedEarly), t => Assert.InRange(t.MicroAccuracy, 0.4, 1));

        // The rule against the recorded accuracies: after 1 epoch, the best ceil(4 / 2) = 2 by validation MicroAccuracy go on.
        var firstRung = result.Trials.OrderByDescending(t => t.History[0].ValidationMicroAccuracy).ThenBy(t => t.Index).ToList();
        Assert.All(firstRung.Take(2), t => Assert.False(t.StoppedEarly));
        Assert.All(firstRung.Skip(2), t => Assert.True(t.StoppedEarly));

        // Every candidate started once for the first rung and paused there; the two kept started again for the second.
        Assert.Equal(experiment.Candidates, result.Trials.Select(t => t.Options));
        Assert.Equal(Enumerable.Range(0, 4), recorder.Indices(NormalizerSweepProgressKind.TrialPaused));
        var kept = result.Trials.Where(t => !t.StoppedEarly).Select(t => t.Index).ToList();
        Assert.Equal([0, 1, 2, 3, .. kept], recorder.Indices(NormalizerSweepProgressKind.TrialStarted));
        // A continued trial's second epoch follows its first (one schedule of 2 epochs, resumed from the checkpoint): epoch 1's
        // rate is the full one, and the MultiStep schedule has cut it by 10 at 50% for epoch 2.
        foreach (var trial in result.Trials.Where(t => !t.StoppedEarly))
        {
            Assert.Equal([1, 2], trial.History.Select(h => h.Epoch));
            Assert.Equal(trial.Options.LearningRate, trial.History[0].LearningRate, 12);
            Assert.Equal(trial.Options.LearningRate * 0.1, trial.History[1].LearningRate, 12);
        }
    }

    [Fact]
    public void ABudgetEndingInALaterRungFinishesThePausedTrialsAtTheirRung()
    {
        var (ml, train, validation) = SweepTestData.Load();
        using var folder = new TempDirectory();
        var budget = TimeSpan.FromSeconds(20);
        var settings = new NormalizerSweepSettings
        {
            BaseOptions = SweepTestData.BaseOptions(),
            SearchSpace = new NormalizerSearchSpace { Normalizers = [NormalizerKind.BatchNorm, NormalizerKind.GroupNorm], Groups = [1], LearningRates = [0.1, 1e-5], Epochs = [2] },
            Strategy = SweepStrategy.SuccessiveHalving, MaxTrials = 4, Eta = 2, MinEpochs = 1, InferenceAlphas = [0, 1], TimeBudget = budget,
            LogPath = folder.File("sweep.jsonl"),
        };
        // When the second rung starts its first trial, wait out the budget: that trial is cancelled at its first step.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var recorder = new SweepTestData.Recorder();
        var secondRungReached = false;
        var waiting = new SyncProgress(report =>
        {
            recorder.Report(report);
            if (report.Kind == NormalizerSweepProgressKind.TrialStarted && recorder.Indices(NormalizerSweepProgressKind.TrialPaused).Contains(report.TrialIndex))
            {
                secondRungReached = true;
                Assert.True(clock.Elapsed < budget, $"the first rung took {clock.Elapsed}, past the {budget} budget; the machine is too busy for this test");
                Thread.Sleep(budget - clock.Elapsed + TimeSpan.FromMilliseconds(200));
            }
        });
        using var result = ml.MulticlassClassification.CreateNormalizerSweep(settings).Execute(train, validation, waiting);

        Assert.True(secondRungReached);
        Assert.True(result.BudgetExhausted);
        // The two cut at the first rung, and the two kept for the second, which the budget ended: all four trained one epoch.
        Assert.Equal([0, 1, 2, 3], result.Trials.Select(t => t.Index));
        Assert.All(result.Trials, t => Assert.True(t.StoppedEarly));
        Assert.All(result.Trials, t => Assert.Equal(1, t.EpochsTrained));
        Assert.Equal(result.Trials.MaxBy(t => t.BestAlphaMicroAccuracy)!.BestAlphaMicroAccuracy, result.BestTrial.BestAlphaMicroAccuracy);
        Assert.Equal(4, File.ReadAllLines(folder.File("sweep.jsonl")).Count(l => l.Contains("\"kind\":\"trial\"", StringComparison.Ordinal)));
        // The best model is the best trial's, at its alpha, as a model trained without a budget gives it.
        Assert.Equal(result.BestTrial.BestAlphaMicroAccuracy, SweepTestData.CountedAccuracy(result.BestModel, validation), 12);
    }

    private sealed class SyncProgress(Action<NormalizerSweepProgress> report) : IProgress<NormalizerSweepProgress>
    {
        public void Report(NormalizerSweepProgress value) => report(value);
    }

    [Theory]
    [InlineData(1, 3, 9, new[] { 1, 3, 9 })]
    [InlineData(1, 3, 10, new[] { 1, 3, 9, 10 })]
    [InlineData(2, 2, 5, new[] { 2, 4, 5 })]
    [InlineData(1, 2, 2, new[] { 1, 2 })]
    public void RungsMultiplyByEtaUpToTheFullEpochs(int minEpochs, int eta, int full, int[] expected) =>
        Assert.Equal(expected, NormalizerSweepSettings.Rungs(minEpochs, eta, full));

    [Fact]
    public void CutKeepsTheBestCeilingOfNOverEtaWithTiesToTheLowerIndex()
    {
        var scores = new Dictionary<int, double> { [0] = 0.5, [1] = 0.7, [2] = 0.5, [3] = 0.2, [4] = 0.7 };
        Assert.Equal([1, 4], NormalizerSweepExperiment.HalvingCut(scores, eta: 3).Order());   // ceil(5 / 3) = 2
        Assert.Equal([0, 1, 4], NormalizerSweepExperiment.HalvingCut(scores, eta: 2).Order());   // ceil(5 / 2) = 3: 0 beats 2 on the tie
        Assert.Equal([1], NormalizerSweepExperiment.HalvingCut(scores, eta: 5).Order());
        // The rung score is the best accuracy over the rung's epochs, not the last.
        Assert.Equal(0.6, NormalizerSweepExperiment.RungScore([0.4, 0.6, 0.5, 0.9], 3));
    }
}
