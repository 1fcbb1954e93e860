using System.IO.Compression;
using Microsoft.ML;

namespace MLNetNormalization.Tool.Tests;

/// <summary>
/// Folders as users have them: a PNG cut short, a file that is no image, a model that is not one of mlnorm's or was
/// damaged. predict classifies every readable image and names each one it cannot read; train refuses a truncated image
/// instead of training on the partly black picture ML.NET's LoadImages would make of it.
/// </summary>
[Collection(ToolCollection.Name)]
public sealed class ImageFolderFaultTests(ToolFixture fixture)
{
    [Fact]
    public void PredictClassifiesEveryReadableImageAndNamesEachUnreadableOneWithItsReason()
    {
        var folder = Path.Combine(fixture.Root, $"faulty-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var good = fixture.SampleImages.Select(path => Copy(path, folder)).ToList();
        var truncated = Copy(good[0], folder, "truncated.png");
        File.WriteAllBytes(truncated, File.ReadAllBytes(truncated)[..60]);   // the header and a little of the data
        var garbage = Path.Combine(folder, "garbage.png");
        File.WriteAllBytes(garbage, [1, 2, 3, 4, 5, 6, 7, 8]);

        var (code, stdout, stderr) = ToolFixture.RunCli(["predict", "--model", fixture.ModelPath, truncated, good[0], garbage, .. good[1..]]);

        Assert.Equal(1, code);
        var predicted = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t')[0]).ToList();
        Assert.Equal(good, predicted);   // every readable image, in the order given
        var errors = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(errors, e => e.StartsWith($"mlnorm: {truncated}: not classified: ", StringComparison.Ordinal) && e.Contains("not a complete image", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith($"mlnorm: {garbage}: not classified: ", StringComparison.Ordinal));
        Assert.Contains("mlnorm: 2 of 5 images could not be classified", stderr);
    }

    [Fact]
    public void TrainRefusesATruncatedImageNamingIt()
    {
        var dataset = Path.Combine(fixture.Root, $"truncated-set-{Guid.NewGuid():N}");
        ToolFixture.CopyFolder(fixture.Images, dataset);
        var victim = Directory.GetFiles(Directory.GetDirectories(dataset).Order(StringComparer.Ordinal).First()).Order(StringComparer.Ordinal).First();
        File.WriteAllBytes(victim, File.ReadAllBytes(victim)[..60]);
        var output = Path.Combine(fixture.Root, $"out-{Guid.NewGuid():N}");

        var (code, _, stderr) = ToolFixture.RunCli("train", "--dataset", dataset, "--epochs", "1", "--output", output);

        Assert.Equal(2, code);
        Assert.Contains($"the image {victim} holds 60 bytes that are not a complete image", stderr);
        Assert.Contains("remove or replace that file", stderr);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void PredictRefusesAModelItDidNotWriteSayingWhatToPass()
    {
        var ml = new MLContext(1);
        var rows = ml.Data.LoadFromEnumerable(new[] { new Row { ImagePath = "a.png", Label = "a" } });
        var other = Path.Combine(fixture.Root, $"other-{Guid.NewGuid():N}.zip");
        ml.Model.Save(ml.Transforms.Conversion.MapValueToKey("Label").Fit(rows), rows.Schema, other);

        var (code, stdout, stderr) = ToolFixture.RunCli(["predict", "--model", other, fixture.SampleImages[0]]);

        Assert.Equal(2, code);
        Assert.Empty(stdout);
        Assert.Contains("pass the model.zip that mlnorm train or sweep wrote", stderr);
    }

    [Fact]
    public void PredictRefusesADamagedModelWithTheLoadersOwnMessage()
    {
        var damaged = Path.Combine(fixture.Root, $"damaged-{Guid.NewGuid():N}.zip");
        File.Copy(fixture.ModelPath, damaged);
        string folder;
        using (var zip = ZipFile.Open(damaged, ZipArchiveMode.Update))
        {
            var entry = zip.Entries.Single(e => e.Name == "Weights.bin");
            var name = entry.FullName;
            folder = name[..name.LastIndexOf('/')];
            byte[] bytes;
            using (var stream = entry.Open())
            using (var memory = new MemoryStream())
            {
                stream.CopyTo(memory);
                bytes = memory.ToArray();
            }
            bytes[bytes.Length / 2] ^= 0x01;
            entry.Delete();
            using var rewritten = zip.CreateEntry(name).Open();
            rewritten.Write(bytes);
        }

        var (code, stdout, stderr) = ToolFixture.RunCli(["predict", "--model", damaged, fixture.SampleImages[0]]);

        Assert.Equal(2, code);
        Assert.Empty(stdout);
        Assert.Contains($"--model {damaged} cannot be loaded: The ImageClassifierWithNorm model in '{folder}' of this model file is damaged", stderr);
        Assert.Contains("the file was changed after it was saved", stderr);
    }

    private static string Copy(string path, string folder, string? name = null)
    {
        var target = Path.Combine(folder, name ?? $"{Path.GetFileName(Path.GetDirectoryName(path))}-{Path.GetFileName(path)}");
        File.Copy(path, target);
        return target;
    }

    private sealed class Row
    {
        public string ImagePath { get; set; } = "";

        public string Label { get; set; } = "";
    }
}
