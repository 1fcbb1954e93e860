using Microsoft.ML;

namespace MLNetNormalization.Tool.Tests;

/// <summary>`mlnorm sweep` on the small image folder: the trial log, the held-out accuracy evaluate reaches again, the leaderboard report, and a budget below one epoch.</summary>
[Collection(ToolCollection.Name)]
public sealed class SweepTests(ToolFixture fixture)
{
    [Fact]
    public async Task SweepWritesTheBestModelTheTrialLogAndALeaderboardReport()
    {
        var output = Path.Combine(fixture.Root, $"sweep-{Guid.NewGuid():N}");
        var (code, stdout, stderr) = ToolFixture.RunCli("sweep", "--dataset", fixture.Images, "--time", "10m", "--strategy", "halving", "--norms", "bn,mn",
                                                        "--epochs", "2", "--batch-size", "32", "--output", output);
        Assert.True(code == 0, stderr + stdout);
        // bn and mn with the two default learning rates: 4 candidates, all tried.
        Assert.Contains("(4 trials of 2 normalizer kinds, ", stdout);

        var log = File.ReadAllLines(Path.Combine(output, "trials.jsonl"));
        Assert.Contains("\"kind\":\"sweep\"", log[0]);
        Assert.Equal(4, log.Count(l => l.Contains("\"kind\":\"trial\"", StringComparison.Ordinal)));
        Assert.False(Directory.Exists(Path.Combine(output, "trials.trials")));

        // The best trial's validation accuracy: model.zip's own predictions on the held-out images give it, and evaluate reaches it.
        var printed = System.Text.RegularExpressions.Regex.Match(stdout, @"^best: .*, validation accuracy (?<value>[0-9.]+ %)", System.Text.RegularExpressions.RegexOptions.Multiline).Groups["value"].Value;
        var (counted, _) = HeldOutEvaluationTests.HeldOutAccuracy(Path.Combine(output, "model.zip"), fixture.Images, 0.2, 1);
        Assert.Equal(HeldOutEvaluationTests.Percent(counted), printed);
        var command = HeldOutEvaluationTests.ReproduceCommand(stdout);
        Assert.Equal($"mlnorm evaluate --model {Path.Combine(output, "model.zip")} --dataset {fixture.Images} --split validation", command);
        var evaluated = ToolFixture.RunCli(command.Split(' ')[1..]);
        Assert.True(evaluated.Code == 0, evaluated.Stderr);
        Assert.Equal(printed, HeldOutEvaluationTests.EvaluatedAccuracy(evaluated.Stdout));

        var ml = new MLContext(1);
        ml.Model.Load(Path.Combine(output, "model.zip"), out _);
        Assert.True(File.Exists(Path.Combine(output, "consume", "MLNormConsumer.csproj")));
        // The best model as ONNX too: it predicts what model.zip predicts.
        Assert.True(File.Exists(Path.Combine(output, "consume-onnx", "MLNormOnnxConsumer.csproj")));
        OnnxToolTests.AssertSamePredictions(ToolFixture.RunCli(["predict", "--model", Path.Combine(output, "model.zip"), .. fixture.SampleImages]),
                                            ToolFixture.RunCli(["predict", "--model", Path.Combine(output, "model.onnx"), .. fixture.SampleImages]));

        var html = await File.ReadAllTextAsync(Path.Combine(output, "report.html"));
        Assert.Contains("Leaderboard", html);
        Assert.Contains("bn lr 0.05", html);
        Assert.Contains("mn:k=2 lr 0.05", html);
        await ReportBrowserTests.CheckReport(Path.Combine(output, "report.html"), ["trials-time", "loss", "accuracy", "confusion", "alpha"],
                                             Path.Combine(fixture.Root, "screenshots-sweep"));
    }

    [Fact]
    public void ABudgetShorterThanOneEpochIsRefused()
    {
        var output = Path.Combine(fixture.Root, $"sweep-{Guid.NewGuid():N}");
        var (code, _, stderr) = ToolFixture.RunCli("sweep", "--dataset", fixture.Images, "--time", "1ms", "--strategy", "grid", "--norms", "bn", "--epochs", "1",
                                                   "--batch-size", "32", "--output", output);
        Assert.Equal(2, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("mlnorm: error: --time 1ms", line);
        Assert.Contains("shorter than one epoch", line);
        Assert.False(Directory.Exists(output));
        Assert.Empty(Directory.GetDirectories(fixture.Root, Path.GetFileName(output) + ".*.tmp"));
    }

    [Fact]
    public void AnOutputHoldingAnotherSweepsTrialLogIsRefusedAndLeftAsItWas()
    {
        var output = Path.Combine(fixture.Root, $"sweep-{Guid.NewGuid():N}");
        Directory.CreateDirectory(output);
        const string header = "{\"kind\":\"sweep\",\"version\":1,\"settings\":{\"strategy\":\"Grid\",\"seed\":7}}\n";
        File.WriteAllText(Path.Combine(output, "trials.jsonl"), header);
        var (code, _, stderr) = ToolFixture.RunCli("sweep", "--dataset", fixture.Images, "--strategy", "grid", "--norms", "bn", "--epochs", "1",
                                                   "--batch-size", "32", "--output", output);
        Assert.Equal(2, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"mlnorm: error: --output {output} holds the trial log of another sweep, which this command cannot resume (", line);
        Assert.Contains($"{Path.Combine(output, "trials.jsonl")} was written by a sweep with other settings", line);
        Assert.EndsWith("run the command that started it to resume it, or pass a new --output.", line);
        Assert.Equal(header, File.ReadAllText(Path.Combine(output, "trials.jsonl")));
        Assert.Single(Directory.GetFileSystemEntries(output));
        Assert.Empty(Directory.GetDirectories(fixture.Root, Path.GetFileName(output) + ".*.tmp"));
    }

    [Theory]
    [InlineData("--norms", "bn,zn", "'zn' is not a normalizer")]
    [InlineData("--time", "soon", "'soon' is not a duration")]
    [InlineData("--time", "0s", "leaves no time")]
    [InlineData("--epochs", "1", "--strategy halving with --epochs 1")]
    public void BadSweepOptionsAreRefused(string option, string value, string message)
    {
        var output = Path.Combine(fixture.Root, $"sweep-{Guid.NewGuid():N}");
        var (code, _, stderr) = ToolFixture.RunCli("sweep", "--dataset", fixture.Images, option, value, "--output", output);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr);
        Assert.False(Directory.Exists(output));
    }
}
