using System.Globalization;

namespace MLNetNormalization.Tool.Tests;

/// <summary>The consumption project that train writes builds on its own and predicts what `mlnorm predict` predicts.</summary>
[Collection(ToolCollection.Name)]
public sealed class ConsumptionProjectTests(ToolFixture fixture)
{
    [Fact]
    public void BuildsAndPredictsAsTheToolDoes()
    {
        // A copy, so that the build's bin/ and obj/ do not land in the shared run's folder.
        var copy = Path.Combine(fixture.Root, $"consumer-{Guid.NewGuid():N}");
        CopyFolder(Path.Combine(fixture.TrainOutput, "consume"), Path.Combine(copy, "consume"));
        File.Copy(fixture.ModelPath, Path.Combine(copy, "model.zip"));
        var project = Path.Combine(copy, "consume");

        var build = ToolFixture.RunProcess(ToolFixture.Dotnet, ["build", "-c", "Release", "-o", Path.Combine(project, "out"), "-nologo", "-v", "q"],
                                           project, TimeSpan.FromMinutes(8));
        Assert.True(build.Code == 0, $"dotnet build failed:\n{build.Stdout}\n{build.Stderr}");

        var images = fixture.SampleImages;
        var run = ToolFixture.RunProcess(ToolFixture.Dotnet, [Path.Combine(project, "out", "MLNormConsumer.dll"), .. images], project, TimeSpan.FromMinutes(3));
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

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
