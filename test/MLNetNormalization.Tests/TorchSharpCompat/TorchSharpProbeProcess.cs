using System.Diagnostics;
using System.Reflection;

namespace MLNetNormalization.Tests.TorchSharpCompat;

/// <summary>
/// The TorchSharp probe (test/TorchSharpProbe), run as a child process, so that it loads TorchSharp from its own output
/// folder in a fresh process as a user's program does. Its path and the packaged libLibTorchSharp.so's are recorded by
/// the test project at build time.
/// </summary>
internal static class TorchSharpProbeProcess
{
    /// <summary>The built probe, whose output folder the build step has patched.</summary>
    public static string ProbePath => Recorded("TorchSharpProbePath");

    /// <summary>libLibTorchSharp.so as the TorchSharp package ships it, in the NuGet cache: read, copied, never written.</summary>
    public static string PackagedLibTorchSharpPath => Recorded("PackagedLibTorchSharpPath");

    /// <summary>The folder of the probe's native libraries (libtorch and TorchSharp's own).</summary>
    public static string NativeDirectory => Path.Combine(Path.GetDirectoryName(ProbePath)!, "runtimes", "linux-x64", "native");

    /// <summary>Runs the probe with <paramref name="arguments"/>; <paramref name="libraryDirectory"/>, when given, goes
    /// first in the loader's search path (for a library copied away from the libtorch it needs).</summary>
    public static (int ExitCode, string Output, string Error) Run(IEnumerable<string> arguments, string? libraryDirectory = null)
    {
        Assert.True(File.Exists(ProbePath), $"{ProbePath} is missing; the test project references the probe so that it is built.");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(ProbePath);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        if (libraryDirectory is not null)
            start.Environment["LD_LIBRARY_PATH"] = libraryDirectory;
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output, error.Result);
    }

    private static string Recorded(string key) =>
        typeof(TorchSharpProbeProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
        ?? throw new InvalidOperationException($"The test project recorded no {key}.");
}
