using System.Diagnostics;
using System.Reflection;
using MLNetNormalization.Tools.Mlnorm;
using MLNetNormalization.Data;

namespace MLNetNormalization.Tool.Tests;

/// <summary>The tests' collection: one at a time (two cores), sharing one fixture.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ToolCollection : ICollectionFixture<ToolFixture>
{
    public const string Name = "mlnorm";
}

/// <summary>
/// A temporary folder with a small image folder (30 Fashion-MNIST training images per class as PNGs, written with
/// ImageFolder.Save) and one `mlnorm train` run on it (LeNet, mn:k=2, 1 epoch), shared by the tests.
/// </summary>
public sealed class ToolFixture : IDisposable
{
    public const int PerClass = 30;

    public ToolFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), $"mlnorm-tests-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Root);
        Images = Path.Combine(Root, "images");
        ImageFolder.Save(Images, FashionMnist.LoadTrain(), PerClass);
        TrainOutput = Path.Combine(Root, "run");
        var (code, stdout, stderr) = RunCli("train", "--dataset", Images, "--norm", "mn:k=2", "--arch", "lenet", "--epochs", "1",
                                            "--batch-size", "32", "--output", TrainOutput);
        TrainStdout = stdout;
        if (code != 0) throw new InvalidOperationException($"mlnorm train failed ({code}): {stderr}\n{stdout}");
    }

    public string Root { get; }

    public string Images { get; }

    /// <summary>--output of the shared train run: model.zip, consume/, report.html.</summary>
    public string TrainOutput { get; }

    public string TrainStdout { get; }

    public string ModelPath => Path.Combine(TrainOutput, "model.zip");

    /// <summary>Two images of different classes from the image folder.</summary>
    public IReadOnlyList<string> SampleImages =>
        Directory.GetDirectories(Images).Order(StringComparer.Ordinal).Take(3).Select(d => Directory.GetFiles(d).Order(StringComparer.Ordinal).First()).ToList();

    /// <summary>
    /// Builds a project that mlnorm wrote (copied into <paramref name="project"/>, below <paramref name="copy"/>) as its user
    /// would, restoring in isolation (<see cref="PackageRestore"/>); returns its output folder.
    /// </summary>
    public static string BuildWrittenProject(string copy, string project)
    {
        PackageRestore.Isolate(copy, packageSource: null);
        var output = Path.Combine(project, "out");
        var build = RunProcess(Dotnet, ["build", "-c", "Release", "-o", output, "-nologo", "-v", "q"], project, TimeSpan.FromMinutes(8));
        Assert.True(build.Code == 0, $"dotnet build of {project} failed:\n{build.Stdout}\n{build.Stderr}");
        return output;
    }

    /// <summary>Copies every file below <paramref name="from"/> to the same place below <paramref name="to"/>.</summary>
    public static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>Runs mlnorm in this process; returns its exit code, stdout and stderr.</summary>
    public static (int Code, string Stdout, string Stderr) RunCli(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = Cli.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    public static string RepoRoot => Metadata("RepoRoot");

    public static string Configuration => Metadata("Configuration");

    /// <summary>The version of the MLNetNormalization packages (MLNetNormalizationVersion in Directory.Build.props).</summary>
    public static string PackageVersion => Metadata("MLNetNormalizationVersion");

    /// <summary>The global packages folder that this build restored into, which holds every package the tests need.</summary>
    public static string NuGetPackageRoot => Metadata("NuGetPackageRoot");

    private static string Metadata(string key) =>
        typeof(ToolFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    /// <summary>Runs a process to its end (at most <paramref name="timeout"/>); returns exit code and the output.</summary>
    public static (int Code, string Stdout, string Stderr) RunProcess(string file, IEnumerable<string> args, string workingDirectory, TimeSpan timeout,
                                                                      IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        // Builds started from a test must not reuse or leave MSBuild nodes.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        if (environment is not null)
            foreach (var (key, value) in environment) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            // What it wrote tells where it hung; a process it left running could keep the pipes open, so not forever.
            var output = Task.WaitAll([stdout, stderr], TimeSpan.FromSeconds(30)) ? $"{stdout.Result}\n{stderr.Result}" : "(its output did not end)";
            throw new TimeoutException($"{file} {string.Join(' ', args)} ran past {timeout}:\n{output}");
        }
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>The dotnet host running the tests.</summary>
    public static string Dotnet =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host
        : Path.GetFileName(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A child process may still hold a file; the temporary folder is left for the system to clean.
        }
    }
}
