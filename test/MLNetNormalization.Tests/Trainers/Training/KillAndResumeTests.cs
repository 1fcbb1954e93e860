using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;

namespace MLNetNormalization.Tests.Trainers.Training;

/// <summary>
/// The sample app (the ML.NET pipeline with a workspace), run as a separate process on a small Fashion-MNIST-format data
/// set, is killed with SIGKILL in the middle of an epoch and started again with the same command: it resumes from its
/// last checkpoint (the previous epoch's end: ImageClassifierWithNorm checkpoints at epoch ends), finishes, and the
/// classifier's weights in its saved model zip equal, bit for bit, those of a run never interrupted.
/// </summary>
[Collection("NativeMemory")]
public sealed class KillAndResumeTests : IDisposable
{
    // 120 steps an epoch, progress every 50: the kill at step 50 of epoch 2 leaves 70 steps, the test scoring and the save still to run.
    private const int Epochs = 2, BatchSize = 8, TrainImages = 960, Side = 28;

    // With MapValueToKey first in the pipeline, the classifier is the chain's second transformer; its weights are the
    // network's state_dict (test/MLNetNormalization.Tests/Pipeline/ModelFileTests.cs).
    private const string WeightsEntry = "TransformerChain/Transform_001/Weights.bin";

    private readonly string root = Directory.CreateTempSubdirectory("mlnorm-kill-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void KilledMidEpochThenResumedEqualsAnUninterruptedRun()
    {
        var data = Path.Combine(root, "data");
        WriteDataSet(data);

        var uninterruptedModel = Path.Combine(root, "uninterrupted.zip");
        var (code, output) = RunSample(Arguments(data, Path.Combine(root, "workspace-a"), uninterruptedModel));
        Assert.True(code == 0, output);
        Assert.DoesNotContain("Resumed from", output);

        var workspace = Path.Combine(root, "workspace-b");
        var model = Path.Combine(root, "resumed.zip");
        var killedAt = RunAndKill(Arguments(data, workspace, model), $"epoch 2/{Epochs}  step   50/");
        Assert.False(File.Exists(model), $"the killed run got to the end before the kill:\n{killedAt}");
        Assert.True(File.Exists(Path.Combine(workspace, "checkpoint.mlnt")), killedAt);

        (code, output) = RunSample(Arguments(data, workspace, model));
        Assert.True(code == 0, output);
        Assert.Contains($"Resumed from the checkpoint in {workspace} at epoch 2, batch 0.", output);
        Assert.DoesNotContain($"epoch 1/{Epochs}", output);

        var expected = WeightsOf(uninterruptedModel);
        var actual = WeightsOf(model);
        Assert.True(expected.AsSpan().SequenceEqual(actual), $"{WeightsEntry} differs after resuming ({expected.Length} and {actual.Length} bytes)");
    }

    // One thread, so that both runs sum in the same order.
    private static string[] Arguments(string data, string workspace, string model) =>
    [
        "--data-dir", data, "--workspace", workspace, "--model", model, "--epochs", $"{Epochs}", "--batch-size", $"{BatchSize}",
        "--threads", "1", "--seed", "7", "--norm", "bn", "--crop-padding", "2", "--flip",
    ];

    private static byte[] WeightsOf(string modelZip)
    {
        using var zip = ZipFile.OpenRead(modelZip);
        var entry = zip.GetEntry(WeightsEntry) ?? throw new InvalidDataException($"{modelZip} has no {WeightsEntry}: {string.Join(", ", zip.Entries.Select(e => e.FullName))}");
        using var stream = entry.Open();
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return bytes.ToArray();
    }

    private static Process Start(string[] arguments)
    {
        var sample = Path.Combine(AppContext.BaseDirectory, "FashionMnistTraining.dll");
        Assert.True(File.Exists(sample), $"{sample} is missing; the test project references the sample so that it is built beside the tests.");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(sample);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        return Process.Start(start)!;
    }

    private static (int ExitCode, string Output) RunSample(string[] arguments)
    {
        using var process = Start(arguments);
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output + error.Result);
    }

    // Kills the process (SIGKILL: no handler runs, so no checkpoint is written on the way out) as soon as it prints a line containing marker.
    private static string RunAndKill(string[] arguments, string marker)
    {
        using var process = Start(arguments);
        var error = process.StandardError.ReadToEndAsync();
        var seen = new List<string>();
        while (process.StandardOutput.ReadLine() is { } line)
        {
            seen.Add(line);
            if (!line.Contains(marker)) continue;
            process.Kill();
            break;
        }
        process.WaitForExit();
        Assert.True(seen.Exists(l => l.Contains(marker)), $"the run ended without printing '{marker}':\n{string.Join("\n", seen)}\n{error.Result}");
        Assert.NotEqual(0, process.ExitCode);
        return string.Join("\n", seen);
    }

    // Fashion-MNIST's file layout (gzipped IDX) with 10 classes of noisy class-specific stripes.
    private static void WriteDataSet(string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (var (prefix, count, seed) in new[] { ("train", TrainImages, 1), ("t10k", 160, 2) })
        {
            var random = new Random(seed);
            var labels = new byte[count];
            var pixels = new byte[count * Side * Side];
            for (var i = 0; i < count; i++)
            {
                labels[i] = (byte)(i % 10);
                for (var p = 0; p < Side * Side; p++)
                {
                    var stripe = (p / Side + p % Side * labels[i]) % 10 < 3;
                    pixels[i * Side * Side + p] = (byte)Math.Clamp((stripe ? 180 : 40) + random.Next(-40, 41), 0, 255);
                }
            }
            WriteIdx(Path.Combine(directory, $"{prefix}-images-idx3-ubyte.gz"), pixels, count, Side, Side);
            WriteIdx(Path.Combine(directory, $"{prefix}-labels-idx1-ubyte.gz"), labels, count);
        }
    }

    private static void WriteIdx(string path, byte[] values, params int[] dimensions)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        gzip.Write([0, 0, 0x08, (byte)dimensions.Length]);
        Span<byte> size = stackalloc byte[4];
        foreach (var dimension in dimensions)
        {
            BinaryPrimitives.WriteInt32BigEndian(size, dimension);
            gzip.Write(size);
        }
        gzip.Write(values);
    }
}
