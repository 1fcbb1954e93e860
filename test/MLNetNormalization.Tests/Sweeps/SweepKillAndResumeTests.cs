using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using MLNetNormalization.Sweeps;
using MLNetNormalization.Tests.Support;

namespace MLNetNormalization.Tests.Sweeps;

/// <summary>
/// A successive-halving sweep with a log, run as a child process (test/SweepProbe: 4 candidates, Eta 2, 1 then 2 epochs),
/// killed with SIGKILL after the first trial of the last rung finished, then started again with the same command: it reads
/// the finished trials from the log instead of training them, continues the unfinished one from its checkpoint, and ends
/// with the log and best model of a run never interrupted.
/// </summary>
[Collection(TestCollections.NativeMemory)]
public sealed class SweepKillAndResumeTests : IDisposable
{
    private readonly TempDirectory folder = new();

    public void Dispose() => folder.Dispose();

    [Fact]
    public void KilledSweepResumesWithoutRerunningFinishedTrialsAndEndsAsAnUninterruptedOne()
    {
        var uninterruptedLog = folder.File("a/sweep.jsonl");
        var (code, uninterrupted) = Run(uninterruptedLog);
        Assert.True(code == 0, string.Join("\n", uninterrupted));
        // 4 candidates for 1 epoch, the best 2 to 2 epochs; 2 stopped early.
        Assert.Equal(4, uninterrupted.Count(l => l.StartsWith("finished ", StringComparison.Ordinal)));
        Assert.Equal(2, uninterrupted.Count(l => l.StartsWith("finished ", StringComparison.Ordinal) && l.Contains(" True ")));

        var log = folder.File("b/sweep.jsonl");
        var killed = RunAndKill(log, line => line.StartsWith("finished ", StringComparison.Ordinal) && line.Contains(" False "));
        var finishedBeforeKill = Indices(killed, "finished");
        Assert.Equal(3, finishedBeforeKill.Count);   // the two stopped at the first rung, and the first of the last rung
        Assert.DoesNotContain(killed, l => l.StartsWith("best ", StringComparison.Ordinal));

        (code, var resumed) = Run(log);
        Assert.True(code == 0, string.Join("\n", resumed));
        Assert.Equal(finishedBeforeKill.Order(), Indices(resumed, "resumed").Order());
        var unfinished = Enumerable.Range(0, 4).Except(finishedBeforeKill).Single();
        // Only the unfinished trial runs: its first rung again (read back from its checkpoint, no epoch trained), then its second epoch.
        Assert.Equal([unfinished, unfinished], Indices(resumed, "started"));
        Assert.Equal([$"epoch {unfinished} 2"], resumed.Where(l => l.StartsWith("epoch ", StringComparison.Ordinal)));
        Assert.Equal([unfinished], Indices(resumed, "finished"));

        // The resumed sweep's trials and best model are those of the uninterrupted run, number for number.
        Assert.Equal(Trials(uninterruptedLog), Trials(log));
        Assert.Equal(uninterrupted.Where(l => l.StartsWith("best", StringComparison.Ordinal)), resumed.Where(l => l.StartsWith("best", StringComparison.Ordinal)));
        // Each trial once in the log.
        Assert.Equal(4, File.ReadAllLines(log).Count(l => l.Contains("\"kind\":\"trial\"", StringComparison.Ordinal)));
    }

    // Each trial line without its duration (wall time), keyed by index, as JSON text.
    private static SortedDictionary<int, string> Trials(string log)
    {
        var trials = new SortedDictionary<int, string>();
        foreach (var line in File.ReadAllLines(log).Skip(1))
        {
            var node = JsonNode.Parse(line)!.AsObject();
            node.Remove("duration");
            trials.Add((int)node["index"]!, node.ToJsonString());
        }
        return trials;
    }

    private static List<int> Indices(IEnumerable<string> lines, string word) =>
        [.. lines.Where(l => l.StartsWith(word + " ", StringComparison.Ordinal)).Select(l => int.Parse(l.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture))];

    private static Process Start(string log)
    {
        var probe = typeof(SweepKillAndResumeTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "SweepProbe").Value!;
        Assert.True(File.Exists(probe), $"{probe} is missing; the test project builds test/SweepProbe with the tests.");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(probe);
        start.ArgumentList.Add(log);
        return Process.Start(start)!;
    }

    private static (int ExitCode, List<string> Lines) Run(string log)
    {
        using var process = Start(log);
        var error = process.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        while (process.StandardOutput.ReadLine() is { } line) lines.Add(line);
        process.WaitForExit();
        if (error.Result.Length > 0) lines.Add(error.Result);
        return (process.ExitCode, lines);
    }

    // SIGKILL (Process.Kill: no handler runs) as soon as a line matches.
    private static List<string> RunAndKill(string log, Func<string, bool> marker)
    {
        using var process = Start(log);
        var error = process.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        while (process.StandardOutput.ReadLine() is { } line)
        {
            lines.Add(line);
            if (!marker(line)) continue;
            process.Kill();
            break;
        }
        process.WaitForExit();
        Assert.True(lines.Exists(l => marker(l)), $"the sweep ended without the kill's marker line:\n{string.Join("\n", lines)}\n{error.Result}");
        Assert.NotEqual(0, process.ExitCode);
        return lines;
    }
}
