using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace MLNetNormalization.Bench;

/// <summary>One round of the PyTorch side, as bench/pytorch_resnet20.py reports it.</summary>
internal sealed record PyTorchRound(IReadOnlyList<double> StepSeconds, string TorchVersion, int Threads, int Batch, long Parameters)
{
    public double Median => Stats.Median(StepSeconds);
}

/// <summary>Runs bench/pytorch_resnet20.py once per round (a fresh process: model built, warmed up, timed).</summary>
internal sealed class PyTorchSide(string python, string script)
{
    public PyTorchRound RunRound(int threads, int batch, int warmup, int steps)
    {
        var info = new ProcessStartInfo(python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
                 {
                     script, "--threads", Invariant(threads), "--batch", Invariant(batch),
                     "--warmup", Invariant(warmup), "--steps", Invariant(steps), "--seed", "0",
                 })
            info.ArgumentList.Add(argument);

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {python}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        var output = stdout.GetAwaiter().GetResult();
        var errors = stderr.GetAwaiter().GetResult();
        if (process.ExitCode != 0)
            throw new InvalidOperationException(
                $"{python} {string.Join(' ', info.ArgumentList)} exited with code {process.ExitCode}:\n{errors}{output}");

        var jsonLines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => line.StartsWith('{')).ToList();
        if (jsonLines.Count != 1)
            throw new InvalidOperationException($"Expected one JSON line from {script}, got {jsonLines.Count}:\n{output}{errors}");

        using var json = JsonDocument.Parse(jsonLines[0]);
        var root = json.RootElement;
        var result = new PyTorchRound(
            root.GetProperty("step_seconds").EnumerateArray().Select(e => e.GetDouble()).ToList(),
            root.GetProperty("torch_version").GetString() ?? "?",
            root.GetProperty("threads").GetInt32(),
            root.GetProperty("batch").GetInt32(),
            root.GetProperty("parameters").GetInt64());

        if (result.Parameters != TorchSharpSide.ExpectedParameters)
            throw new InvalidOperationException(
                $"The PyTorch ResNet-20 has {result.Parameters:N0} parameters, not {TorchSharpSide.ExpectedParameters:N0}: the two sides would not time the same network.");
        if (result.Threads != threads)
            throw new InvalidOperationException($"PyTorch ran {result.Threads} threads, not the {threads} asked for.");
        if (result.Batch != batch || result.StepSeconds.Count != steps)
            throw new InvalidOperationException($"PyTorch ran batch {result.Batch} for {result.StepSeconds.Count} steps, not batch {batch} for {steps}.");
        return result;
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
