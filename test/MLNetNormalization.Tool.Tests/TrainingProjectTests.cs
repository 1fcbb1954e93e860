using System.Text.RegularExpressions;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetNormalization.Tool.Tests;

/// <summary>
/// The training code that train writes beside its model (train/, as Model Builder writes one): it builds on its own from
/// the packages mlnorm carries and, run on the same dataset, trains the same model: the same validation accuracy
/// printed and the same scores, bit for bit, as the model.zip of `mlnorm train`.
/// </summary>
[Collection(ToolCollection.Name)]
public sealed partial class TrainingProjectTests(ToolFixture fixture)
{
    [Fact]
    public void BuildsFromThePackagesAndTrainsTheModelTrainTrained()
    {
        var copy = Path.Combine(fixture.Root, $"trainer-{Guid.NewGuid():N}");
        var project = Path.Combine(copy, "train");
        ToolFixture.CopyFolder(Path.Combine(fixture.TrainOutput, "train"), project);
        var program = File.ReadAllText(Path.Combine(project, "Program.cs"));
        Assert.Contains("NormalizerSpecification = \"mn:k=2\"", program);
        Assert.Contains("BatchSize = 32", program);

        var output = ToolFixture.BuildWrittenProject(copy, project);
        var retrained = Path.Combine(copy, "model.zip");
        var run = ToolFixture.RunProcess(ToolFixture.Dotnet, [Path.Combine(output, "MLNormTrainer.dll"), fixture.Images, retrained], project,
                                         TimeSpan.FromMinutes(5));
        Assert.True(run.Code == 0, $"the training code failed:\n{run.Stdout}\n{run.Stderr}");

        Assert.Equal(ValidationAccuracy(fixture.TrainStdout), ValidationAccuracy(run.Stdout));
        Assert.Equal(Scores(fixture.ModelPath), Scores(retrained));
    }

    /// <summary>The accuracy of the line "validation: accuracy 84.86 %, ..." that train and the training code print.</summary>
    private static string ValidationAccuracy(string output) =>
        ValidationLine().Match(output) is { Success: true } match ? match.Groups["accuracy"].Value : throw new Xunit.Sdk.XunitException($"no validation line in:\n{output}");

    [GeneratedRegex(@"validation: accuracy (?<accuracy>[0-9.]+ ?%)")]
    private static partial Regex ValidationLine();

    /// <summary>The Score bits of <paramref name="model"/> for the fixture's sample images, loaded in this process.</summary>
    private List<uint[]> Scores(string model)
    {
        var ml = new MLContext();
        var loaded = ml.Model.Load(model, out _);
        var rows = ml.Data.LoadFromEnumerable(fixture.SampleImages.Select(path => new ImageInput { ImagePath = path }));
        return [.. ml.Data.CreateEnumerable<ScoreOutput>(loaded.Transform(rows), reuseRowObject: false)
            .Select(o => o.Score.Select(BitConverter.SingleToUInt32Bits).ToArray())];
    }

    private sealed class ImageInput
    {
        public string ImagePath { get; set; } = "";

        public string Label { get; set; } = "";
    }

    private sealed class ScoreOutput
    {
        public float[] Score { get; set; } = [];
    }
}
