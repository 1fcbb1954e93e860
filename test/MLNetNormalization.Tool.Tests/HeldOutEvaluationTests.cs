using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetNormalization.Data;

namespace MLNetNormalization.Tool.Tests;

/// <summary>
/// `mlnorm evaluate --split validation` on the model of the shared train run: it reaches the validation accuracy train
/// printed, which is also the accuracy counted here from model.zip's own predictions on ML.NET's TrainTestSplit of the image
/// folder (fraction 0.2, seed 1, the command line's defaults), and it refuses models without a record and other datasets.
/// </summary>
[Collection(ToolCollection.Name)]
public sealed partial class HeldOutEvaluationTests(ToolFixture fixture)
{
    [GeneratedRegex(@"^accuracy (?<value>[0-9.]+ %)", RegexOptions.Multiline)]
    private static partial Regex EvaluateAccuracy();

    [GeneratedRegex(@"^validation: accuracy (?<value>[0-9.]+ %)", RegexOptions.Multiline)]
    private static partial Regex TrainAccuracy();

    /// <summary>The "accuracy 12.34 %" of evaluate's output.</summary>
    public static string EvaluatedAccuracy(string stdout) => EvaluateAccuracy().Match(stdout) is { Success: true } m ? m.Groups["value"].Value
        : throw new InvalidOperationException($"no accuracy line in:\n{stdout}");

    /// <summary>The line "to score the held-out images again: mlnorm evaluate ..." of train's or sweep's output, without its lead.</summary>
    public static string ReproduceCommand(string stdout) =>
        stdout.Split('\n').Single(l => l.StartsWith("to score the held-out images again: ", StringComparison.Ordinal))["to score the held-out images again: ".Length..].TrimEnd();

    /// <summary>
    /// The fraction of the held-out images (ML.NET's TrainTestSplit of the folder's rows with this fraction and seed) that
    /// model.zip, loaded with ML.NET, predicts right; and how many there are.
    /// </summary>
    public static (double Accuracy, int Count) HeldOutAccuracy(string modelPath, string imageFolder, double fraction, int seed)
    {
        var ml = new MLContext(seed);
        var rows = ml.Data.CreateEnumerable<Tools.Mlnorm.Dataset.ImageRow>(ImageFolder.Load(ml, imageFolder), reuseRowObject: false)
            .Select(r => new Tools.Mlnorm.Dataset.ImageRow { ImagePath = Path.Combine(imageFolder, r.ImagePath), Label = r.Label })
            .ToList();
        var heldOut = ml.Data.TrainTestSplit(ml.Data.LoadFromEnumerable(rows), testFraction: fraction, seed: seed).TestSet;
        var model = ml.Model.Load(modelPath, out _);
        var predicted = model.Transform(heldOut).GetColumn<string>("PredictedLabelValue").ToList();
        var labels = heldOut.GetColumn<string>("Label").ToList();
        return ((double)predicted.Zip(labels).Count(p => p.First == p.Second) / labels.Count, labels.Count);
    }

    public static string Percent(double fraction) => fraction.ToString("P2", CultureInfo.InvariantCulture);

    [Fact]
    public void EvaluateOnTheValidationSplitReachesTheAccuracyTrainPrinted()
    {
        var printed = TrainAccuracy().Match(fixture.TrainStdout).Groups["value"].Value;
        var (counted, count) = HeldOutAccuracy(fixture.ModelPath, fixture.Images, 0.2, 1);
        Assert.Equal(Percent(counted), printed);
        Assert.Contains($"on {count} of {ToolFixture.PerClass * 10} images held out with fraction 0.2 and seed 1 (", fixture.TrainStdout);

        var command = ReproduceCommand(fixture.TrainStdout);
        Assert.Equal($"mlnorm evaluate --model {fixture.ModelPath} --dataset {fixture.Images} --split validation", command);
        var (code, stdout, stderr) = ToolFixture.RunCli(command.Split(' ')[1..]);
        Assert.True(code == 0, stderr);
        Assert.Equal(printed, EvaluatedAccuracy(stdout));
        Assert.Contains($"scoring the validation images of mlnorm train's split ({count} of {ToolFixture.PerClass * 10} images held out with fraction 0.2 and seed 1)", stdout);

        // The other part is the rest: its images and the held-out ones add up to the folder.
        (code, stdout, stderr) = ToolFixture.RunCli("evaluate", "--model", fixture.ModelPath, "--dataset", fixture.Images, "--split", "train");
        Assert.True(code == 0, stderr);
        var trainCounts = Regex.Match(stdout, @"^accuracy .* on (?<n>\d+) images$", RegexOptions.Multiline);
        Assert.Equal(ToolFixture.PerClass * 10 - count, int.Parse(trainCounts.Groups["n"].Value, CultureInfo.InvariantCulture));
    }

    [Fact]
    public void ASplitOfAModelWithoutItsTrainingRecordIsRefused()
    {
        var alone = Path.Combine(fixture.Root, $"alone-{Guid.NewGuid():N}");
        Directory.CreateDirectory(alone);
        File.Copy(fixture.ModelPath, Path.Combine(alone, "model.zip"));
        var (code, _, stderr) = ToolFixture.RunCli("evaluate", "--model", Path.Combine(alone, "model.zip"), "--dataset", fixture.Images, "--split", "validation");
        Assert.Equal(2, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"mlnorm: error: --split validation: {Path.Combine(alone, "training.json")}", line);
        Assert.Contains("leave out --split", line);
    }

    [Fact]
    public void ASplitOfAnotherDatasetIsRefused()
    {
        // Fewer images.
        var smaller = Path.Combine(fixture.Root, $"smaller-{Guid.NewGuid():N}");
        ImageFolder.Save(smaller, FashionMnist.LoadTrain(), 5);
        var (code, _, stderr) = ToolFixture.RunCli("evaluate", "--model", fixture.ModelPath, "--dataset", smaller, "--split", "validation");
        Assert.Equal(2, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"--dataset {smaller} is not the dataset the model was trained on (50 images, the model's 300)", line);
        Assert.Contains($"pass --dataset {fixture.Images}", line);

        // As many images, one of them another: the fingerprint differs.
        var changed = Path.Combine(fixture.Root, $"changed-{Guid.NewGuid():N}");
        foreach (var file in Directory.GetFiles(fixture.Images, "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(changed, Path.GetRelativePath(fixture.Images, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }
        var classFolder = Directory.GetDirectories(changed).Order(StringComparer.Ordinal).First();
        var images = Directory.GetFiles(classFolder).Order(StringComparer.Ordinal).ToList();
        File.Copy(images[1], images[0], overwrite: true);
        (code, _, stderr) = ToolFixture.RunCli("evaluate", "--model", fixture.ModelPath, "--dataset", changed, "--split", "validation");
        Assert.Equal(2, code);
        line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("are other files or in another order: fingerprint", line);

        // Without --split, any dataset of the model's classes is scored whole.
        (code, _, stderr) = ToolFixture.RunCli("evaluate", "--model", fixture.ModelPath, "--dataset", changed);
        Assert.True(code == 0, stderr);
    }
}
