using System.Text.Json.Nodes;
using MLNetNormalization.Sweeps;
using Microsoft.ML;
using MLNetNormalization.Tests.Support;

namespace MLNetNormalization.Tests.Sweeps;

/// <summary>The sweep's JSON-lines log in one process: its lines, resuming from it, a cut-short line, other settings refused, the time budget.</summary>
[Collection(TestCollections.GlobalRandom)]
public sealed class SweepLogTests : IDisposable
{
    private readonly TempDirectory folder = new();

    public void Dispose() => folder.Dispose();

    private NormalizerSweepSettings Settings(double secondRate = 0.1, int? seed = 5) => new()
    {
        BaseOptions = SweepTestData.BaseOptions(),
        SearchSpace = new() { Normalizers = [NormalizerKind.BatchNorm], LearningRates = [0.05, secondRate], Epochs = [1] },
        Strategy = SweepStrategy.Grid, InferenceAlphas = [0, 1], Seed = seed, LogPath = folder.File("runs/sweep.jsonl"),
    };

    [Fact]
    public void LogResumesFinishedTrialsDropsACutLineAndRefusesOtherSettings()
    {
        var (ml, train, validation) = SweepTestData.Load();
        var log = folder.File("runs/sweep.jsonl");
        List<SweepTrial> first;
        using (var result = ml.MulticlassClassification.CreateNormalizerSweep(Settings()).Execute(train, validation))
            first = [.. result.Trials];

        var lines = File.ReadAllLines(log);
        Assert.Equal(3, lines.Length);
        Assert.Equal("sweep", (string?)JsonNode.Parse(lines[0])!["kind"]);
        Assert.Equal([0, 1], lines.Skip(1).Select(l => (int)JsonNode.Parse(l)!["index"]!));
        Assert.All(lines.Skip(1), l => Assert.Equal("trial", (string?)JsonNode.Parse(l)!["kind"]));
        var best = first.OrderByDescending(t => t.BestAlphaMicroAccuracy).ThenBy(t => t.Index).First();
        // Only the best trial's model is kept beside the log.
        Assert.Equal([$"trial-{best.Index:D4}"], Directory.GetDirectories(folder.File("runs/sweep.trials")).Select(Path.GetFileName));

        // A kill while the second trial's line was written: half of it, no newline. That trial runs again; the first does not.
        File.WriteAllText(log, lines[0] + "\n" + lines[1] + "\n" + lines[2][..(lines[2].Length / 2)]);
        var recorder = new SweepTestData.Recorder();
        using (var resumed = ml.MulticlassClassification.CreateNormalizerSweep(Settings()).Execute(train, validation, recorder))
        {
            Assert.Equal(1, resumed.ResumedTrialCount);
            Assert.Equal([0], recorder.Indices(NormalizerSweepProgressKind.TrialResumedFromLog));
            Assert.Equal([1], recorder.Indices(NormalizerSweepProgressKind.TrialStarted));
            // The same seed trains the same weights: the rerun trial's numbers are the first run's.
            Assert.Equal(first.Select(t => t with { Duration = default }), resumed.Trials.Select(t => t with { Duration = default }));
            // The trial read back from the log is the one logged, to the last bit and tick.
            Assert.Equal(first[0], resumed.Trials[0]);
        }
        Assert.Equal(3, File.ReadAllLines(log).Length);
        Assert.EndsWith("\n", File.ReadAllText(log));

        // Everything finished: nothing is trained, and the best model comes from its file.
        recorder = new SweepTestData.Recorder();
        using (var again = ml.MulticlassClassification.CreateNormalizerSweep(Settings()).Execute(train, validation, recorder))
        {
            Assert.Empty(recorder.Indices(NormalizerSweepProgressKind.TrialStarted));
            Assert.Equal(2, again.ResumedTrialCount);
            Assert.Equal(best, again.BestTrial);
            Assert.Equal(best.BestAlpha, again.BestModel.InferenceAlpha);
            Assert.Equal(best.BestAlphaMicroAccuracy, SweepTestData.CountedAccuracy(again.BestModel, validation), 12);
        }

        var other = Assert.Throws<InvalidOperationException>(() => ml.MulticlassClassification.CreateNormalizerSweep(Settings(secondRate: 0.2)).Execute(train, validation));
        Assert.Contains($"The sweep log {log} was written by a sweep with other settings: candidates", other.Message);
        Assert.Contains("lr=0.2", other.Message);
        Assert.Contains("give another LogPath or delete this log", other.Message);
        var seed = Assert.Throws<InvalidOperationException>(() => ml.MulticlassClassification.CreateNormalizerSweep(Settings(seed: 6)).Execute(train, validation));
        Assert.Contains("seed (log: 5, now: 6)", seed.Message);
        Assert.Equal(3, File.ReadAllLines(log).Length);   // a refused log is left as it was
    }

    [Fact]
    public void BudgetShorterThanAnEpochIsRefusedAtTheFirstProgressReport()
    {
        var (ml, train, validation) = SweepTestData.Load();
        var settings = Settings();
        settings.TimeBudget = TimeSpan.FromMilliseconds(1);
        var recorder = new SweepTestData.Recorder();
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.CreateNormalizerSweep(settings).Execute(train, validation, recorder));
        Assert.Equal("TimeBudget", error.ParamName);
        Assert.StartsWith("NormalizerSweepSettings.TimeBudget: 00:00:00.0010000 is shorter than one epoch, which takes about", error.Message);
        // Stopped within the first trial's first epoch: one engine report, nothing finished or logged.
        Assert.Single(recorder.Reports, r => r.Kind == NormalizerSweepProgressKind.Training);
        Assert.Empty(recorder.Indices(NormalizerSweepProgressKind.TrialFinished));
        Assert.Single(File.ReadAllLines(folder.File("runs/sweep.jsonl")));
    }
}
