using System.Diagnostics;
using System.Runtime.InteropServices;

namespace MLNetNormalization.Tools.Mlnorm;

/// <summary>
/// Writes report.html by running the renderer (mlnorm-report, in report/ beside mlnorm.dll) on report-data.json. A child
/// process of its own: its ScottPlot needs SkiaSharp 3, and this process holds ImageAnalytics' SkiaSharp 2.88.
/// </summary>
internal static class ReportRenderer
{
    public static string RendererPath => Path.Combine(AppContext.BaseDirectory, "report", "mlnorm-report.dll");

    /// <summary>Writes <paramref name="data"/> to <c>report-data.json</c> in <paramref name="folder"/> and renders <c>report.html</c> there.</summary>
    public static void Write(ReportData data, string folder)
    {
        var dataPath = Path.Combine(folder, "report-data.json");
        var htmlPath = Path.Combine(folder, "report.html");
        data.Save(dataPath);
        Run([dataPath, htmlPath]);
        if (!File.Exists(htmlPath))
            throw new InvalidOperationException($"The report renderer exited without writing {htmlPath}.");
    }

    /// <summary>Runs the renderer with <paramref name="arguments"/> to its end; throws with its output when it fails.</summary>
    public static void Run(IReadOnlyList<string> arguments)
    {
        if (!File.Exists(RendererPath))
            throw new InvalidOperationException($"The report renderer {RendererPath} is missing; reinstall mlnorm (its package carries report/).");
        var start = new ProcessStartInfo(DotnetHost()) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(RendererPath);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName} to render the report.");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"The report renderer failed (exit code {process.ExitCode}): {ModelPipeline.OneLine(stderr.Result + " " + stdout.Result)}");
    }

    /// <summary>The dotnet host that runs this process: the SDK's when set, else the one above the shared runtime in use.</summary>
    internal static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
        var name = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        // <root>/shared/Microsoft.NETCore.App/<version>/
        var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var candidate = Path.Combine(root, name);
        if (File.Exists(candidate)) return candidate;
        if (Environment.ProcessPath is { } self && Path.GetFileName(self) == name) return self;
        return name;
    }
}
