using System.Runtime.InteropServices;

namespace MLNetNormalization.Bench;

/// <summary>Facts about the repository and the machine that every benchmark report records.</summary>
public static class BenchHost
{
    /// <summary>
    /// A benchmark's Main: invariant culture, --help, and exit codes 2 for bad arguments or missing
    /// files, 1 for any other failure. A measurement is not a test: <paramref name="run"/> returns 0 whatever it measured.
    /// </summary>
    public static int Main<TOptions>(string[] args, Func<string[], TOptions> parse, Func<TOptions, bool> wantsHelp, string usage, Func<TOptions, int> run)
    {
        System.Globalization.CultureInfo.DefaultThreadCurrentCulture = System.Globalization.CultureInfo.InvariantCulture;
        System.Globalization.CultureInfo.CurrentCulture = System.Globalization.CultureInfo.InvariantCulture;
        try
        {
            var options = parse(args);
            if (!wantsHelp(options)) return run(options);
            Console.WriteLine(usage);
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or FileNotFoundException or DirectoryNotFoundException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"error: {e}");
            return 1;
        }
    }

    /// <summary>The repository root holds MLNetNormalization.sln: looks up from the working directory, then from the binaries.</summary>
    public static string FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "MLNetNormalization.sln"))) return dir.FullName;
        }
        throw new DirectoryNotFoundException(
            $"No MLNetNormalization.sln above {Directory.GetCurrentDirectory()} or {AppContext.BaseDirectory}: run from inside the repository.");
    }

    /// <summary>The CPU's model name from /proc/cpuinfo, or the architecture where that is unavailable.</summary>
    public static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line != null) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException)
        {
        }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    /// <summary>"CPU model, N logical cores, OS, .NET runtime": the Machine line of a report.</summary>
    /// <summary>
    /// The NuGet package version an assembly came from: ML.NET's assemblies keep version 1.0.0 whatever the package, but
    /// their informational version is the package's ("6.0.0+commit").
    /// </summary>
    public static string PackageVersion(System.Reflection.Assembly assembly) =>
        System.Reflection.CustomAttributeExtensions.GetCustomAttribute<System.Reflection.AssemblyInformationalVersionAttribute>(assembly)?.InformationalVersion.Split('+')[0]
        ?? assembly.GetName().Version?.ToString(3) ?? "unknown";

    public static string MachineDescription() =>
        $"{CpuModel()}, {Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription.Trim()}, {RuntimeInformation.FrameworkDescription}";

    /// <summary>Installed versions from dpkg's database, e.g. "libtorch1.13 1.13.1+dfsg-4".</summary>
    public static string DebianPackages(params string[] names)
    {
        const string status = "/var/lib/dpkg/status";
        if (!File.Exists(status)) return "unknown (no dpkg)";
        var found = new List<string>();
        string? package = null;
        foreach (var line in File.ReadLines(status))
        {
            if (line.StartsWith("Package: ", StringComparison.Ordinal)) package = line["Package: ".Length..].Trim();
            else if (line.StartsWith("Version: ", StringComparison.Ordinal) && package != null && names.Contains(package))
                found.Add($"{package} {line["Version: ".Length..].Trim()}");
        }
        return found.Count > 0 ? string.Join(", ", found) : "not installed";
    }

    /// <summary>The command line that reproduces a run, for the report: "dotnet run -c Release --project bench/X -- args".</summary>
    public static string RunCommand(string project, IEnumerable<string> arguments) =>
        $"dotnet run -c Release --project {project} --" + string.Concat(arguments.Select(a => " " + (a.Contains(' ') || a.Contains(';') ? $"\"{a}\"" : a)));
}

/// <summary>Number formats of the reports (invariant culture).</summary>
public static class Units
{
    /// <summary>Seconds as milliseconds with one decimal.</summary>
    public static string Ms(double seconds) => (seconds * 1000).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Bytes as whole MiB.</summary>
    public static string MiB(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("F0", System.Globalization.CultureInfo.InvariantCulture);
}
