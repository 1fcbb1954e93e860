using System.Globalization;
using System.IO.Compression;

namespace MLNetNormalization.Tool.Tests;

/// <summary>
/// The consumption project that train writes references the MLNetNormalization packages that mlnorm carries (copied
/// into its packages/, added to the package sources by its nuget.config) and imports nothing by hand; it builds on its
/// own, with the packed assemblies, and predicts what `mlnorm predict` predicts.
/// </summary>
[Collection(ToolCollection.Name)]
public sealed class ConsumptionProjectTests(ToolFixture fixture)
{
    [Fact]
    public void BuildsFromThePackagesAndPredictsAsTheToolDoes()
    {
        // A copy, so that the build's bin/ and obj/ do not land in the shared run's folder.
        var copy = Path.Combine(fixture.Root, $"consumer-{Guid.NewGuid():N}");
        ToolFixture.CopyFolder(Path.Combine(fixture.TrainOutput, "consume"), Path.Combine(copy, "consume"));
        File.Copy(fixture.ModelPath, Path.Combine(copy, "model.zip"));
        var project = Path.Combine(copy, "consume");

        var version = ToolFixture.PackageVersion;
        Assert.Equal([$"MLNetNormalization.Normalization.{version}.nupkg", $"MLNetNormalization.Trainers.{version}.nupkg"],
                     Directory.GetFiles(Path.Combine(project, "packages")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var csproj = File.ReadAllText(Path.Combine(project, "MLNormConsumer.csproj"));
        Assert.Contains($"""<PackageReference Include="MLNetNormalization.Trainers" Version="{version}" />""", csproj);
        Assert.DoesNotContain("<Import", csproj);
        Assert.DoesNotContain("<Reference", csproj);

        var output = ToolFixture.BuildWrittenProject(copy, project);
        // The assembly in the output is the one in the carried package, not one from another build of the same version.
        using (var trainers = ZipFile.OpenRead(Path.Combine(project, "packages", $"MLNetNormalization.Trainers.{version}.nupkg")))
        {
            using var packed = new MemoryStream();
            using (var entry = trainers.GetEntry("lib/net10.0/MLNetNormalization.Trainers.dll")!.Open()) entry.CopyTo(packed);
            Assert.Equal(packed.ToArray(), File.ReadAllBytes(Path.Combine(output, "MLNetNormalization.Trainers.dll")));
        }

        var images = fixture.SampleImages;
        var run = ToolFixture.RunProcess(ToolFixture.Dotnet, [Path.Combine(output, "MLNormConsumer.dll"), .. images], project, TimeSpan.FromMinutes(3));
        Assert.True(run.Code == 0, $"the consumer failed:\n{run.Stdout}\n{run.Stderr}");
        var consumer = Parse(run.Stdout);

        var tool = ToolFixture.RunCli(["predict", "--model", fixture.ModelPath, .. images]);
        Assert.Equal(0, tool.Code);
        var expected = Parse(tool.Stdout);

        Assert.Equal(images.Count, consumer.Count);
        for (var i = 0; i < images.Count; i++)
        {
            Assert.Equal(images[i], consumer[i].Path);
            Assert.Equal(expected[i].Label, consumer[i].Label);
            Assert.Equal(expected[i].Probability, consumer[i].Probability, 5);
        }
    }

    private static List<(string Path, string Label, double Probability)> Parse(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.TrimEnd('\r').Split('\t'))
            .Select(f => (f[0], f[1], double.Parse(f[2], CultureInfo.InvariantCulture)))
            .ToList();
}
