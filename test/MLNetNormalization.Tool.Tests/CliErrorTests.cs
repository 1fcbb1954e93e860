using MLNetNormalization.Data;

namespace MLNetNormalization.Tool.Tests;

/// <summary>Bad input: exit code 2, one line on stderr naming the thing and the fix, and nothing left in or beside --output.</summary>
[Collection(ToolCollection.Name)]
public sealed class CliErrorTests(ToolFixture fixture)
{
    private string NewOutput() => Path.Combine(fixture.Root, $"out-{Guid.NewGuid():N}");

    private static void AssertBadInput((int Code, string Stdout, string Stderr) result, string output, params string[] mentions)
    {
        Assert.Equal(2, result.Code);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("mlnorm: error: ", lines[0]);
        foreach (var mention in mentions) Assert.Contains(mention, lines[0]);
        Assert.False(Directory.Exists(output), $"{output} was created");
        var parent = Path.GetDirectoryName(output)!;
        Assert.Empty(Directory.GetDirectories(parent, Path.GetFileName(output) + ".*.tmp"));
    }

    [Fact]
    public void MissingDatasetIsRefused()
    {
        var output = NewOutput();
        var missing = Path.Combine(fixture.Root, "no-such-folder");
        AssertBadInput(ToolFixture.RunCli("train", "--dataset", missing, "--output", output), output, missing, "does not exist", "pass a folder");
    }

    [Fact]
    public void DatasetWithoutImagesIsRefused()
    {
        var empty = Path.Combine(fixture.Root, $"empty-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(empty, "cat"));
        Directory.CreateDirectory(Path.Combine(empty, "dog"));
        File.WriteAllText(Path.Combine(empty, "cat", "notes.txt"), "not an image");
        var output = NewOutput();
        AssertBadInput(ToolFixture.RunCli("train", "--dataset", empty, "--output", output), output, empty, "hold no image files", ".png");
    }

    [Fact]
    public void OneClassIsRefused()
    {
        var single = Path.Combine(fixture.Root, $"single-{Guid.NewGuid():N}");
        var images = FashionMnist.LoadTrain();
        var firstClass = Enumerable.Range(0, images.Count).Where(i => images.GetLabel(i) == 0).Take(5).ToList();
        ImageFolder.Save(single, images.Subset(firstClass));
        var output = NewOutput();
        AssertBadInput(ToolFixture.RunCli("train", "--dataset", single, "--output", output), output, single, "one class", "two or more classes");
    }

    [Fact]
    public void UnknownNormalizerIsRefusedWithTheValidForms()
    {
        var output = NewOutput();
        AssertBadInput(ToolFixture.RunCli("train", "--dataset", fixture.Images, "--norm", "xn:k=2", "--output", output), output,
            "--norm 'xn:k=2'", "mn:k=", "gn:g=");
    }

    [Fact]
    public void UnknownArchitectureIsRefusedWithTheValidNames()
    {
        var output = NewOutput();
        AssertBadInput(ToolFixture.RunCli("train", "--dataset", fixture.Images, "--arch", "alexnet", "--output", output), output,
            "--arch 'alexnet'", "lenet", "resnet20");
    }

    [Fact]
    public void MissingRequiredOptionIsRefused()
    {
        var output = NewOutput();
        AssertBadInput(ToolFixture.RunCli("train", "--output", output), output, "--dataset", "mlnorm train --help");
    }

    [Fact]
    public void NonEmptyOutputIsRefusedAndLeftAlone()
    {
        var output = NewOutput();
        Directory.CreateDirectory(output);
        var keep = Path.Combine(output, "keep.txt");
        File.WriteAllText(keep, "mine");
        var result = ToolFixture.RunCli("train", "--dataset", fixture.Images, "--epochs", "1", "--output", output);
        Assert.Equal(2, result.Code);
        Assert.Contains("already exists and is not empty", result.Stderr);
        Assert.Equal("mine", File.ReadAllText(keep));
        Assert.Single(Directory.GetFileSystemEntries(output));
    }

    [Fact]
    public void EvaluateRefusesAMissingModel()
    {
        var model = Path.Combine(fixture.Root, "missing.zip");
        var result = ToolFixture.RunCli("evaluate", "--model", model, "--dataset", fixture.Images);
        Assert.Equal(2, result.Code);
        Assert.Contains(model, result.Stderr);
        Assert.Contains("mlnorm train", result.Stderr);
    }

    [Fact]
    public void PredictRefusesAMissingImage()
    {
        var image = Path.Combine(fixture.Root, "missing.png");
        var result = ToolFixture.RunCli("predict", "--model", fixture.ModelPath, image);
        Assert.Equal(2, result.Code);
        Assert.Contains(image, result.Stderr);
        Assert.Empty(result.Stdout);
    }
}
