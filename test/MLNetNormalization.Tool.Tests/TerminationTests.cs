using System.Collections.Concurrent;
using System.Diagnostics;

namespace MLNetNormalization.Tool.Tests;

/// <summary>
/// SIGTERM (what `kill` and service managers send; Ctrl+C's SIGINT takes the same path) to the real mlnorm process while it
/// trains: it exits with 143 and leaves no staging folder; train leaves its checkpoints in --output, and a sweep its trial
/// log, from which the same command resumes without redoing what they hold. SIGKILL, at output lines and, injected by
/// strace, at the system calls that write a checkpoint, put it in place and move the output in: the same command ends
/// as a run never interrupted.
/// </summary>
[Collection(ToolCollection.Name)]
public sealed partial class TerminationTests(ToolFixture fixture)
{
    /// <summary>Starts mlnorm.dll (beside the tests) with <paramref name="args"/>, sends SIGTERM at the first stdout line <paramref name="trigger"/> accepts, and waits for its end.</summary>
    private (int Code, IReadOnlyList<string> Stdout, string Stderr) TerminateWhen(Func<string, bool> trigger, params string[] args) =>
        SignalWhen("TERM", trigger, args);

    /// <summary>As <see cref="TerminateWhen"/>, with the signal <paramref name="signal"/> ("TERM", "KILL").</summary>
    private (int Code, IReadOnlyList<string> Stdout, string Stderr) SignalWhen(string signal, Func<string, bool> trigger, params string[] args) =>
        SignalWhen(signal, trigger, TimeSpan.Zero, args);

    /// <summary>As <see cref="TerminateWhen"/>, with the signal <paramref name="signal"/>, sent <paramref name="delay"/> after the trigger line.</summary>
    private (int Code, IReadOnlyList<string> Stdout, string Stderr) SignalWhen(string signal, Func<string, bool> trigger, TimeSpan delay, params string[] args)
    {
        var start = new ProcessStartInfo(ToolFixture.Dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Mlnorm);
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
                Thread.Sleep(delay);
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

    private static string Mlnorm => Path.Combine(AppContext.BaseDirectory, "mlnorm.dll");

    /// <summary>
    /// Runs mlnorm with <paramref name="args"/> under strace, which stops it only at the system calls <paramref name="calls"/>
    /// that name <paramref name="path"/> (or a descriptor of it) and kills it with SIGKILL on entering the
    /// <paramref name="when"/>-th of them, before the call is made.
    /// </summary>
    private (int Code, string Stdout, string Stderr) KillAtSystemCall(string calls, string path, int when, string[] args)
    {
        // Without --seccomp-bpf, which speeds strace up but leaves the process alive after an injected signal (strace 6.1).
        var result = ToolFixture.RunProcess("strace", ["-f", "-qq", "-o", "/dev/null", "-P", path, "-e", $"trace={calls}",
                                                       "-e", $"inject={calls}:error=EIO:signal=KILL:when={when}", ToolFixture.Dotnet, Mlnorm, .. args],
                                            fixture.Root, TimeSpan.FromMinutes(5));
        Assert.True(result.Code == 137, $"mlnorm was not killed at {calls} #{when} on {path} (exit code {result.Code}):\n{result.Stdout}\n{result.Stderr}");
        return result;
    }

    /// <summary>Runs mlnorm with <paramref name="args"/> to its end under strace; returns its output and how many of <paramref name="calls"/> it made on <paramref name="path"/>.</summary>
    private (string Stdout, Dictionary<string, int> Calls) RunTraced(string calls, string path, string[] args)
    {
        var log = Path.Combine(fixture.Root, $"strace-{Guid.NewGuid():N}.log");
        var (code, stdout, stderr) = ToolFixture.RunProcess("strace", ["-f", "-qq", "--seccomp-bpf", "-o", log, "-P", path, "-e", $"trace={calls}", ToolFixture.Dotnet, Mlnorm, .. args],
                                                            fixture.Root, TimeSpan.FromMinutes(5));
        Assert.True(code == 0, stdout + stderr);
        var counts = File.ReadLines(log).Select(l => SystemCall().Match(l)).Where(m => m.Success)
            .GroupBy(m => m.Groups[1].Value).ToDictionary(g => g.Key, g => g.Count());
        return (stdout, counts);
    }

    // strace -f's "<pid> <call>(" at a call's start (a call another thread interrupts continues on a "<... call resumed>" line).
    [System.Text.RegularExpressions.GeneratedRegex(@"^\d+\s+(\w+)\(")]
    private static partial System.Text.RegularExpressions.Regex SystemCall();

    // File.Move looks at the destination (lstat) just before it renames the file there; strace 6.1's -P matches a rename by
    // its first path only, the staging folder's, whose name is random.
    private const string MoveCalls = "?lstat,?newfstatat,?statx";

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

    [Fact]
    public void SigkillDuringAnEpochACheckpointsWriteItsMoveAndTheFinalMoveLosesNothingAndTheSameCommandEndsWithTheUninterruptedModel()
    {
        const int Epochs = 5;
        string[] Command(string output) => ["train", "--dataset", fixture.Images, "--epochs", $"{Epochs}", "--batch-size", "8", "--output", output];
        // The yardstick, traced to learn how many writes a checkpoint takes (one checkpoint per epoch).
        var reference = Path.Combine(fixture.Root, $"uninterrupted-{Guid.NewGuid():N}");
        var (uninterrupted, calls) = RunTraced("pwrite64,rename", Path.Combine(reference, "checkpoints", "checkpoint.mlnt.tmp"), Command(reference));
        Assert.Equal(Epochs, calls["rename"]);
        var writesPerCheckpoint = calls["pwrite64"] / Epochs;
        var secondsPerEpoch = double.Parse(TrainingSeconds().Match(uninterrupted).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) / Epochs;

        var output = Path.Combine(fixture.Root, $"fault-train-{Guid.NewGuid():N}");
        var checkpoints = Path.Combine(output, "checkpoints");
        var checkpoint = Path.Combine(checkpoints, "checkpoint.mlnt");
        // 1. Half-way through epoch 2 (by the yardstick's pace): epoch 1's checkpoint is in place.
        var killed = SignalWhen("KILL", line => line.StartsWith($"epoch 1/{Epochs} done", StringComparison.Ordinal), TimeSpan.FromSeconds(secondsPerEpoch / 2), Command(output));
        Assert.Equal(137, killed.Code);
        Assert.True(File.Exists(checkpoint));
        // 2. Resumed, and killed while writing its second checkpoint (before its last write: the file is incomplete).
        var run = KillAtSystemCall("pwrite64", checkpoint + ".tmp", 2 * writesPerCheckpoint, Command(output));
        Assert.Contains($"resuming the training whose checkpoints are in {checkpoints}", run.Stdout);
        Assert.True(File.Exists(checkpoint));
        // 3. Resumed, and killed as its first checkpoint, written whole, is renamed into place.
        run = KillAtSystemCall("rename", checkpoint + ".tmp", 1, Command(output));
        Assert.Contains("resuming the training", run.Stdout);
        // 4. Resumed to the end, and killed as model.zip is moved into --output.
        run = KillAtSystemCall(MoveCalls, Path.Combine(output, "model.zip"), 1, Command(output));
        Assert.Contains($"epoch {Epochs}/{Epochs} done", run.Stdout);
        Assert.False(File.Exists(Path.Combine(output, "model.zip")));
        Assert.True(File.Exists(checkpoint));

        var last = ToolFixture.RunCli(Command(output));
        Assert.True(last.Code == 0, last.Stderr + last.Stdout);
        Assert.Contains("resuming the training", last.Stdout);
        Assert.DoesNotContain("epoch 1/", last.Stdout);
        Assert.Equal(ValidationLine(uninterrupted), ValidationLine(last.Stdout));
        AssertSamePredictions(reference, output);
        Assert.False(Directory.Exists(checkpoints));
        AssertNoStaging(output);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\(([0-9.]+) s training\)")]
    private static partial System.Text.RegularExpressions.Regex TrainingSeconds();

    [Fact]
    public void SigkillWhileASweepWritesATrialsCheckpointAndDuringItsFinalMoveLosesNothingAndTheRerunEndsAsAnUninterruptedSweep()
    {
        string[] Command(string output) => ["sweep", "--dataset", fixture.Images, "--strategy", "grid", "--norms", "bn", "--learning-rates", "0.05,0.1,0.2",
                                            "--epochs", "2", "--batch-size", "16", "--output", output];
        const string SecondTrial = "trials.trials/trial-0001/checkpoint.mlnt.tmp";
        var reference = Path.Combine(fixture.Root, $"uninterrupted-{Guid.NewGuid():N}");
        var (uninterrupted, calls) = RunTraced("pwrite64,rename", Path.Combine(reference, SecondTrial), Command(reference));
        Assert.Equal(2, calls["rename"]);
        var writesPerCheckpoint = calls["pwrite64"] / 2;

        var output = Path.Combine(fixture.Root, $"fault-sweep-{Guid.NewGuid():N}");
        // Killed while the second trial writes its second checkpoint: the first trial is in the log.
        var run = KillAtSystemCall("pwrite64", Path.Combine(output, SecondTrial), 2 * writesPerCheckpoint, Command(output));
        Assert.Contains("trial 1 bn lr 0.05: accuracy", run.Stdout);
        Assert.Single(TrialLines(output));
        // Resumed to the end, and killed as model.zip is moved into --output.
        run = KillAtSystemCall(MoveCalls, Path.Combine(output, "model.zip"), 1, Command(output));
        Assert.Contains("(from the trial log)", run.Stdout);
        Assert.Equal(3, TrialLines(output).Count);

        var last = ToolFixture.RunCli(Command(output));
        Assert.True(last.Code == 0, last.Stderr + last.Stdout);
        Assert.Equal(3, last.Stdout.Split('\n').Count(l => l.EndsWith("(from the trial log)", StringComparison.Ordinal)));
        Assert.Equal(BestLine(uninterrupted), BestLine(last.Stdout));
        AssertSamePredictions(reference, output);
        Assert.False(Directory.Exists(Path.Combine(output, "trials.trials")));
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
