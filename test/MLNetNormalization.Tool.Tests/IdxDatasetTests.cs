using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using MLNetNormalization.Data;

namespace MLNetNormalization.Tool.Tests;

/// <summary>
/// A folder of IDX files, written here byte by byte as the format defines them (big-endian magic 0x00000803 / 0x00000801
/// and sizes, then unsigned bytes): train, evaluate on its t10k set and on the held-out part of its train set, and predict
/// image files with the model trained on IDX.
/// </summary>
[Collection(ToolCollection.Name)]
public sealed class IdxDatasetTests(ToolFixture fixture)
{
    private static void WriteIdx(string folder, string prefix, ImageDataset images, int start, int count, bool gzip)
    {
        var size = images.Height * images.Width;
        var imageBytes = new byte[16 + count * size];
        BinaryPrimitives.WriteInt32BigEndian(imageBytes, 0x00000803);
        BinaryPrimitives.WriteInt32BigEndian(imageBytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(imageBytes.AsSpan(8), images.Height);
        BinaryPrimitives.WriteInt32BigEndian(imageBytes.AsSpan(12), images.Width);
        images.Pixels.AsSpan(start * size, count * size).CopyTo(imageBytes.AsSpan(16));
        var labelBytes = new byte[8 + count];
        BinaryPrimitives.WriteInt32BigEndian(labelBytes, 0x00000801);
        BinaryPrimitives.WriteInt32BigEndian(labelBytes.AsSpan(4), count);
        images.Labels.AsSpan(start, count).CopyTo(labelBytes.AsSpan(8));
        Write(Path.Combine(folder, $"{prefix}-images-idx3-ubyte"), imageBytes, gzip);
        Write(Path.Combine(folder, $"{prefix}-labels-idx1-ubyte"), labelBytes, gzip);
    }

    private static void Write(string path, byte[] bytes, bool gzip)
    {
        if (!gzip)
        {
            File.WriteAllBytes(path, bytes);
            return;
        }
        using var file = File.Create(path + ".gz");
        using var compressed = new GZipStream(file, CompressionLevel.Fastest);
        compressed.Write(bytes);
    }

    [Fact]
    public void TrainEvaluateAndPredictOnAnIdxFolder()
    {
        var idx = Path.Combine(fixture.Root, $"idx-{Guid.NewGuid():N}");
        Directory.CreateDirectory(idx);
        var fashion = FashionMnist.LoadTrain();
        WriteIdx(idx, "train", fashion, 0, 300, gzip: true);
        WriteIdx(idx, "t10k", fashion, 300, 100, gzip: false);
        var classNames = string.Join(',', FashionMnist.ClassNames);

        var output = Path.Combine(fixture.Root, $"idx-run-{Guid.NewGuid():N}");
        var (code, stdout, stderr) = ToolFixture.RunCli("train", "--dataset", idx, "--class-names", classNames, "--epochs", "2", "--batch-size", "32", "--output", output);
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains($"IDX files train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz in {idx}: 300 images of 28x28, 10 classes", stdout);
        var printed = System.Text.RegularExpressions.Regex.Match(stdout, @"^validation: accuracy (?<value>[0-9.]+ %)", System.Text.RegularExpressions.RegexOptions.Multiline).Groups["value"].Value;
        // The class names hold a space ("Ankle boot"): the printed command quotes them for the shell.
        Assert.Equal($"mlnorm evaluate --model {Path.Combine(output, "model.zip")} --dataset {idx} --split validation --class-names '{classNames}'",
                     HeldOutEvaluationTests.ReproduceCommand(stdout));

        // The held-out part of the train set: the accuracy train printed.
        (code, stdout, stderr) = ToolFixture.RunCli("evaluate", "--model", Path.Combine(output, "model.zip"), "--dataset", idx, "--split", "validation", "--class-names", classNames);
        Assert.True(code == 0, stderr);
        Assert.Equal(printed, HeldOutEvaluationTests.EvaluatedAccuracy(stdout));

        // The t10k set, the default without --split: its 100 images, well above the 10% of guessing after 2 epochs on 240 images.
        (code, stdout, stderr) = ToolFixture.RunCli("evaluate", "--model", Path.Combine(output, "model.zip"), "--dataset", idx, "--class-names", classNames);
        Assert.True(code == 0, stderr);
        Assert.Contains($"IDX files t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte in {idx}: 100 images", stdout);
        var accuracy = HeldOutEvaluationTests.EvaluatedAccuracy(stdout);
        Assert.InRange(double.Parse(accuracy.TrimEnd(' ', '%'), CultureInfo.InvariantCulture), 25, 100);

        // The model trained on IDX takes image files too.
        (code, stdout, stderr) = ToolFixture.RunCli(["predict", "--model", Path.Combine(output, "model.zip"), .. fixture.SampleImages]);
        Assert.True(code == 0, stderr);
        Assert.All(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.Contains(line.Split('\t')[1], FashionMnist.ClassNames));
    }
}
