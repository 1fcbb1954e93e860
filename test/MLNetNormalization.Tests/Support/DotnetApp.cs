using System.Diagnostics;

namespace MLNetNormalization.Tests.Support;

/// <summary>Runs a .NET app built beside the tests (a sample or a probe) as a process of its own.</summary>
internal static class DotnetApp
{
    /// <summary>Runs <paramref name="assembly"/> with <paramref name="arguments"/> to its end (at most <paramref name="timeout"/>); returns its exit code and output.</summary>
    public static (int ExitCode, string Output, string Error) Run(string assembly, IEnumerable<string> arguments, TimeSpan timeout)
    {
        Assert.True(File.Exists(assembly), $"{assembly} is missing; the test project references it so that building the tests builds it.");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(assembly);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{Path.GetFileName(assembly)} {string.Join(' ', arguments)} did not finish within {timeout}");
        }
        process.WaitForExit();
        return (process.ExitCode, output.Result, error.Result);
    }
}
