using System.Collections.Concurrent;
using System.Diagnostics;

namespace MLNetNormalization.Tool.Tests;

/// <summary>
/// SIGTERM (what `kill` and service managers send; Ctrl+C's SIGINT takes the same path) to the real mlnorm process while it
/// trains: it exits with 143 and leaves no staging folder; train leaves no output folder, and a sweep leaves only its trial
/// log in --output, from which the same command resumes without rerunning the trials it holds.
/// </summary>
[Collection(ToolCollection.Name)]
public sealed class TerminationTests(ToolFixture fixture)
{
    /// <summary>Starts mlnorm.dll (beside the tests) with <paramref name="args"/>, sends SIGTERM at the first stdout line <paramref name="trigger"/> accepts, and waits for its end.</summary>
    private (int Code, IReadOnlyList<string> Stdout, string Stderr) TerminateWhen(Func<string, bool> trigger, params string[] args) =>
        SignalWhen("TERM", trigger, args);

    /// <summary>As <see cref="TerminateWhen"/>, with the signal <paramref name="signal"/> ("TERM", "KILL").</summary>
    private (int Code, IReadOnlyList<string> Stdout, string Stderr) SignalWhen(string signal, Func<string, bool> trigger, params string[] args)
    {
        var start = new ProcessStartInfo(ToolFixture.Dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mlnorm.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var lines = new BlockingCollection<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) lines.CompleteAdding();
            else lines.Add(e.Data);
        };
        process.BeginOutputReadLine();
        var stderr = process.StandardError.ReadToEndAsync();
        var seen = new List<string>();
        try
        {
            foreach (var line in lines.GetConsumingEnumerable(new CancellationTokenSource(TimeSpan.FromMinutes(3)).Token))
            {
                seen.Add(line);
                if (!trigger(line)) continue;
                var kill = ToolFixture.RunProcess("kill", [$"-{signal}", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], fixture.Root, TimeSpan.FromSeconds(30));
                Assert.True(kill.Code == 0, kill.Stderr);
                break;
            }
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(1)), $"mlnorm did not end within a minute of SIG{signal}");
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        process.WaitForExit();
        foreach (var line in lines) seen.Add(line);
        return (process.ExitCode, seen, stderr.Result);
    }

    private static void AssertNoStaging(string output) =>
        Assert.Empty(Directory.GetDirectories(Path.GetDirectoryName(output)!, Path.GetFileName(output) + ".*.tmp"));

    [Fact]
    public void SigtermDuringTrainKeepsItsCheckpointsAndNothingElse()
    {
        var output = Path.Combine(fixture.Root, $"term-train-{Guid.NewGuid():N}");
        var (code, stdout, stderr) = TerminateWhen(line => line.StartsWith("epoch 1/200 done", StringComparison.Ordinal),
            "train", "--dataset", fixture.Images, "--epochs", "200", "--batch-size", "8", "--output", output);
        Assert.True(code == 143, $"exit code {code}\n{string.Join('\n', stdout)}\n{stderr}");
        var checkpoints = Path.Combine(output, "checkpoints");
        Assert.Equal($"mlnorm: cancelled; kept the training's checkpoints in {checkpoints}: run the same command again to resume it, or delete {output}.",
                     Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.DoesNotContain(stdout, l => l.StartsWith("epoch 200/200", StringComparison.Ordinal));
        Assert.Equal(["checkpoints"], Directory.GetFileSystemEntries(output).Select(Path.GetFileName));
        Assert.True(File.Exists(Path.Combine(checkpoints, "checkpoint.mlnt")));
        AssertNoStaging(output);
    }

    [Fact]
    public void SigkillDuringTrainLosesNothingAndTheSameCommandEndsWithTheUninterruptedModel()
    {
        string[] Command(string output) => ["train", "--dataset", fixture.Images, "--epochs", "40", "--batch-size", "8", "--output", output];
        var (reference, uninterrupted) = RunUninterrupted(Command);

        var output = Path.Combine(fixture.Root, $"kill-train-{Guid.NewGuid():N}");
        var killed = SignalWhen("KILL", line => line.StartsWith("epoch 2/40 done", StringComparison.Ordinal), Command(output));
        Assert.Equal(137, killed.Code);
        Assert.True(File.Exists(Path.Combine(output, "checkpoints", "checkpoint.mlnt")));

        var resumed = ToolFixture.RunCli(Command(output));
        Assert.True(resumed.Code == 0, resumed.Stderr + resumed.Stdout);
        Assert.Contains($"resuming the training whose checkpoints are in {Path.Combine(output, "checkpoints")}", resumed.Stdout);
        Assert.False(Directory.Exists(Path.Combine(output, "checkpoints")));
        Assert.Equal(ValidationLine(uninterrupted), ValidationLine(resumed.Stdout));
        AssertSamePredictions(reference, output);
        AssertNoStaging(output);
    }

    /// <summary>Runs <paramref name="command"/> to its end into a new folder: the yardstick of a killed and resumed run.</summary>
    private (string Output, string Stdout) RunUninterrupted(Func<string, string[]> command)
    {
        var output = Path.Combine(fixture.Root, $"uninterrupted-{Guid.NewGuid():N}");
        var (code, stdout, stderr) = ToolFixture.RunCli(command(output));
        Assert.True(code == 0, stderr);
        return (output, stdout);
    }

    /// <summary>The two runs' model.zip predict the fixture's sample images alike, probabilities to six decimals.</summary>
    private void AssertSamePredictions(string reference, string output)
    {
        var images = fixture.SampleImages;
        Assert.Equal(ToolFixture.RunCli(["predict", "--model", Path.Combine(reference, "model.zip"), .. images]).Stdout,
                     ToolFixture.RunCli(["predict", "--model", Path.Combine(output, "model.zip"), .. images]).Stdout);
    }

    /// <summary>train's "validation:" line without its time.</summary>
    private static string ValidationLine(string stdout) =>
        stdout.Split('\n').Single(l => l.StartsWith("validation: ", StringComparison.Ordinal)) is var line ? line[..line.LastIndexOf(" (", StringComparison.Ordinal)] : "";

    [Fact]
    public void SigtermDuringASweepKeepsItsTrialLogAndTheSameCommandResumesIt()
    {
        var output = Path.Combine(fixture.Root, $"term-sweep-{Guid.NewGuid():N}");
        string[] command = ["sweep", "--dataset", fixture.Images, "--strategy", "grid", "--norms", "bn", "--learning-rates", "0.05,0.1,0.2",
                            "--epochs", "2", "--batch-size", "16", "--output", output];
        var (code, stdout, stderr) = TerminateWhen(line => line.StartsWith("trial 1 bn lr 0.05: accuracy", StringComparison.Ordinal), command);
        Assert.True(code == 143, $"exit code {code}\n{string.Join('\n', stdout)}\n{stderr}");
        var message = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"mlnorm: cancelled; kept the sweep's trial log in {output} (trials.jsonl, trials.trials/): run the same command again to resume it without rerunning finished trials, or delete {output}.", message);
        AssertNoStaging(output);
        // The log and the trials' state, nothing else.
        Assert.Subset(new HashSet<string> { "trials.jsonl", "trials.trials" }, Directory.GetFileSystemEntries(output).Select(e => Path.GetFileName(e)!).ToHashSet());
        var logged = File.ReadAllLines(Path.Combine(output, "trials.jsonl")).Count(l => l.Contains("\"kind\":\"trial\"", StringComparison.Ordinal));
        Assert.InRange(logged, 1, 2);

        var resumed = ToolFixture.RunCli(command);
        Assert.True(resumed.Code == 0, resumed.Stderr + resumed.Stdout);
        Assert.Contains($"resuming the sweep whose trial log is in {output}", resumed.Stdout);
        Assert.Contains("trial 1 bn lr 0.05: accuracy", resumed.Stdout);
        Assert.Contains("(from the trial log)", resumed.Stdout);
        Assert.Equal(logged, resumed.Stdout.Split('\n').Count(l => l.EndsWith("(from the trial log)", StringComparison.Ordinal)));
        var log = File.ReadAllLines(Path.Combine(output, "trials.jsonl"));
        Assert.Equal(3, log.Count(l => l.Contains("\"kind\":\"trial\"", StringComparison.Ordinal)));
        Assert.True(File.Exists(Path.Combine(output, "model.zip")));
        Assert.False(Directory.Exists(Path.Combine(output, "trials.trials")));
        AssertNoStaging(output);
    }

    [Fact]
    public void SigkillAtAnyPointOfASweepLosesNoFinishedTrialAndTheResumedSweepEndsAsAnUninterruptedOne()
    {
        string[] Command(string output) => ["sweep", "--dataset", fixture.Images, "--strategy", "grid", "--norms", "bn", "--learning-rates", "0.05,0.1,0.2",
                                            "--epochs", "2", "--batch-size", "16", "--output", output];
        var (reference, uninterrupted) = RunUninterrupted(Command);

        var output = Path.Combine(fixture.Root, $"kill-sweep-{Guid.NewGuid():N}");
        // Killed as the first trial ends (its line printed, the second starting): the log is in --output, with a trial or two.
        var first = SignalWhen("KILL", line => line.StartsWith("trial 1 bn lr 0.05: accuracy", StringComparison.Ordinal), Command(output));
        Assert.Equal(137, first.Code);
        var logged = TrialLines(output);
        Assert.InRange(logged.Count, 1, 2);
        // The resumed run killed as soon as it has finished another trial: what the log held stays there, and more.
        var second = SignalWhen("KILL", line => line.StartsWith("trial 2 bn lr 0.1: accuracy", StringComparison.Ordinal) && !line.EndsWith("(from the trial log)", StringComparison.Ordinal)
                                              || line.StartsWith("trial 3 bn lr 0.2: accuracy", StringComparison.Ordinal), Command(output));
        Assert.Equal(137, second.Code);
        Assert.Contains($"resuming the sweep whose trial log is in {output}", second.Stdout);
        var relogged = TrialLines(output);
        Assert.Equal(logged, relogged.Take(logged.Count));
        Assert.True(relogged.Count > logged.Count, string.Join('\n', second.Stdout));

        var last = ToolFixture.RunCli(Command(output));
        Assert.True(last.Code == 0, last.Stderr + last.Stdout);
        Assert.Equal(3, TrialLines(output).Count);
        Assert.Equal(BestLine(uninterrupted), BestLine(last.Stdout));
        AssertSamePredictions(reference, output);
        AssertNoStaging(output);
    }

    /// <summary>The finished trials in the sweep's log, as the accuracies and alphas they recorded (without their timings).</summary>
    private static List<string> TrialLines(string output) =>
        [.. File.ReadAllLines(Path.Combine(output, "trials.jsonl"))
            .Where(l => l.Contains("\"kind\":\"trial\"", StringComparison.Ordinal))
            .Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!)
            .Select(t => $"{t["index"]} {t["microAccuracy"]} {t["bestAlpha"]} {t["bestAlphaMicroAccuracy"]}")];

    /// <summary>The sweep's "best:" line without its time.</summary>
    private static string BestLine(string stdout) =>
        stdout.Split('\n').Single(l => l.StartsWith("best: ", StringComparison.Ordinal)) is var line ? line[..line.LastIndexOf(',')] : "";
}
