using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetNormalization.Tool.Tests;

/// <summary>What `mlnorm train` wrote, and evaluate and predict on it.</summary>
[Collection(ToolCollection.Name)]
public sealed class TrainEvaluatePredictTests(ToolFixture fixture)
{
    [Fact]
    public void TrainWritesTheModelTheConsumptionProjectAndTheReport()
    {
        Assert.True(File.Exists(fixture.ModelPath));
        Assert.True(File.Exists(Path.Combine(fixture.TrainOutput, "report.html")));
        Assert.True(File.Exists(Path.Combine(fixture.TrainOutput, "consume", "MLNormConsumer.csproj")));
        foreach (var file in new[] { "ModelInput.cs", "ModelOutput.cs", "ModelConsumer.cs", "Program.cs", "nuget.config",
                                     $"packages/MLNetNormalization.Trainers.{ToolFixture.PackageVersion}.nupkg" })
            Assert.True(File.Exists(Path.Combine(fixture.TrainOutput, "consume", file)), file);
        // Nothing staged is left beside the output.
        Assert.Empty(Directory.GetDirectories(fixture.Root, "run.*.tmp"));
        Assert.Contains("validation: accuracy", fixture.TrainStdout);
    }

    [Fact]
    public void ModelZipLoadsWithMLNetAndScoresTheImages()
    {
        var ml = new MLContext(1);
        var model = ml.Model.Load(fixture.ModelPath, out var schema);
        Assert.NotNull(schema.GetColumnOrNull("ImagePath"));
        var rows = ml.Data.LoadFromEnumerable(fixture.SampleImages.Select(p => new Tools.Mlnorm.Dataset.ImageRow { ImagePath = p }).ToList());
        var scores = model.Transform(rows).GetColumn<float[]>("Score").ToList();
        Assert.Equal(fixture.SampleImages.Count, scores.Count);
        foreach (var score in scores)
        {
            Assert.Equal(10, score.Length);
            Assert.Equal(1.0, score.Sum(), 3);
        }
    }

    [Fact]
    public void EvaluateReportsAccuracyAboveChanceAndWritesAReport()
    {
        var output = Path.Combine(fixture.Root, $"eval-{Guid.NewGuid():N}");
        var (code, stdout, stderr) = ToolFixture.RunCli("evaluate", "--model", fixture.ModelPath, "--dataset", fixture.Images, "--output", output);
        Assert.True(code == 0, stderr);
        var line = stdout.Split('\n').Single(l => l.StartsWith("accuracy ", StringComparison.Ordinal));
        var accuracy = double.Parse(line["accuracy ".Length..line.IndexOf('%')], CultureInfo.InvariantCulture) / 100;
        // 300 images of 10 classes after one epoch: well above the 10% of guessing.
        Assert.InRange(accuracy, 0.3, 1.0);
        Assert.Contains("inference alpha 0:", stdout);
        Assert.True(File.Exists(Path.Combine(output, "report.html")));
    }

    [Fact]
    public void PredictPrintsOneLinePerImageWithAClassOfTheModel()
    {
        var (code, stdout, stderr) = ToolFixture.RunCli(["predict", "--model", fixture.ModelPath, .. fixture.SampleImages]);
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(fixture.SampleImages.Count, lines.Length);
        var classes = Directory.GetDirectories(fixture.Images).Select(Path.GetFileName).ToHashSet();
        for (var i = 0; i < lines.Length; i++)
        {
            var fields = lines[i].Split('\t');
            Assert.Equal(fixture.SampleImages[i], fields[0]);
            Assert.Contains(fields[1], classes);
            Assert.InRange(double.Parse(fields[2], CultureInfo.InvariantCulture), 0.1, 1.0);
        }
    }
}
