namespace MLNetNormalization.Tool.Tests;

/// <summary>
/// `dotnet pack` makes the tool package (with the library packages the consumption project references), `dotnet tool
/// install --tool-path` installs it from that folder alone (a nuget.config that lists no other source), and the
/// installed mlnorm runs: its help, and a prediction with the shared run's model, which needs TorchSharp's native
/// libraries (and the libstdc++ fix on Debian 12) from the package.
/// </summary>
[Collection(ToolCollection.Name)]
public sealed class ToolPackageTests(ToolFixture fixture)
{
    [Fact]
    public void PackedToolInstallsFromItsPackageAndRuns()
    {
        var packages = Path.Combine(fixture.Root, "packages");
        var tools = Path.Combine(fixture.Root, "tools");
        var project = Path.Combine(ToolFixture.RepoRoot, "tools", "mlnorm", "mlnorm.csproj");
        var pack = ToolFixture.RunProcess(ToolFixture.Dotnet, ["pack", project, "-c", ToolFixture.Configuration, "-o", packages, "-nologo", "-v", "q"],
                                          ToolFixture.RepoRoot, TimeSpan.FromMinutes(9));
        Assert.True(pack.Code == 0, $"dotnet pack failed:\n{pack.Stdout}\n{pack.Stderr}");
        var package = Assert.Single(Directory.GetFiles(packages, "mlnorm.*.nupkg"));

        using (var zip = System.IO.Compression.ZipFile.OpenRead(package))
        {
            var names = zip.Entries.Select(e => e.FullName).ToList();
            Assert.Contains(names, n => n.EndsWith("/runtimes/linux-x64/native/libtorch_cpu.so", StringComparison.Ordinal));
            Assert.Contains(names, n => n.EndsWith("/runtimes/linux-x64/native/libLibTorchSharp.so", StringComparison.Ordinal));
            // SkiaSharp's native library: ImageAnalytics decodes with it and the report's charts are drawn with it, in process.
            Assert.Contains(names, n => n.EndsWith("/runtimes/linux-x64/native/libSkiaSharp.so", StringComparison.Ordinal));
            Assert.DoesNotContain(names, n => n.Contains("/runtimes/win-x64/", StringComparison.Ordinal));
            // The library packages that the consumption project references; the libstdc++ fix comes with them, so the
            // tool no longer carries the TorchSharpCompat program for it.
            foreach (var id in new[] { "MLNetNormalization.Normalization", "MLNetNormalization.Trainers" })
                Assert.Contains(names, n => n.EndsWith($"/packages/{id}.{ToolFixture.PackageVersion}.nupkg", StringComparison.Ordinal));
            Assert.DoesNotContain(names, n => n.EndsWith("/TorchSharpCompat.dll", StringComparison.Ordinal));
        }

        var config = Path.Combine(fixture.Root, "nuget.config");
        File.WriteAllText(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources><clear /><add key="local" value="{packages}" /></packageSources>
            </configuration>
            """);
        var install = ToolFixture.RunProcess(ToolFixture.Dotnet, ["tool", "install", "--tool-path", tools, "--configfile", config, "--add-source", packages, "mlnorm"],
                                             fixture.Root, TimeSpan.FromMinutes(5));
        Assert.True(install.Code == 0, $"dotnet tool install failed:\n{install.Stdout}\n{install.Stderr}");
        var mlnorm = Path.Combine(tools, "mlnorm");
        Assert.True(File.Exists(mlnorm));

        var help = ToolFixture.RunProcess(mlnorm, ["--help"], fixture.Root, TimeSpan.FromMinutes(1));
        Assert.True(help.Code == 0, help.Stderr);
        foreach (var command in new[] { "train", "evaluate", "predict" }) Assert.Contains(command, help.Stdout);

        var image = fixture.SampleImages[0];
        var predict = ToolFixture.RunProcess(mlnorm, ["predict", "--model", fixture.ModelPath, image], fixture.Root, TimeSpan.FromMinutes(2));
        Assert.True(predict.Code == 0, $"the installed mlnorm failed:\n{predict.Stdout}\n{predict.Stderr}");
        var inProcess = ToolFixture.RunCli("predict", "--model", fixture.ModelPath, image);
        Assert.Equal(inProcess.Stdout.Trim(), predict.Stdout.Trim());

        var bad = ToolFixture.RunProcess(mlnorm, ["train", "--dataset", Path.Combine(fixture.Root, "nowhere"), "--output", Path.Combine(fixture.Root, "never")],
                                         fixture.Root, TimeSpan.FromMinutes(1));
        Assert.Equal(2, bad.Code);
        Assert.StartsWith("mlnorm: error: ", bad.Stderr);
    }
}
