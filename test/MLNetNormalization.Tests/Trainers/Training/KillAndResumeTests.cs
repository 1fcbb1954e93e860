using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using MLNetNormalization.Tests.Support;
using MLNetNormalization.Training;

namespace MLNetNormalization.Tests.Trainers.Training;

/// <summary>
/// The sample app, run as a separate process on a small Fashion-MNIST-format data set, is killed with
/// SIGKILL in the middle of an epoch and started again with the same command: it resumes from its last
/// checkpoint, finishes, and its final weights equal, bit for bit, those of a run never interrupted.
/// </summary>
[Collection("NativeMemory")]
public sealed class KillAndResumeTests : IDisposable
{
    private const int Epochs = 2, BatchSize = 16, TrainImages = 960, Side = 28;
    private readonly string root = Directory.CreateTempSubdirectory("mlnorm-kill-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void KilledMidEpochThenResumedEqualsAnUninterruptedRun()
    {
        var data = Path.Combine(root, "data");
        WriteDataSet(data);

        var uninterruptedWeights = Path.Combine(root, "uninterrupted.mlnt");
        var (code, output) = RunSample(Arguments(data, Path.Combine(root, "workspace-a"), uninterruptedWeights));
        Assert.True(code == 0, output);

        var workspace = Path.Combine(root, "workspace-b");
        var weights = Path.Combine(root, "resumed.mlnt");
        var killedAt = RunAndKill(Arguments(data, workspace, weights), $"epoch 2/{Epochs}  step   20/");
        Assert.False(File.Exists(weights), $"the killed run got to the end before the kill:\n{killedAt}");
        Assert.True(File.Exists(Path.Combine(workspace, "checkpoint.mlnt")), killedAt);

        (code, output) = RunSample(Arguments(data, workspace, weights));
        Assert.True(code == 0, output);
        Assert.Contains("resumed from epoch 2, batch", output);

        var expected = ClassifierTrainer.ReadModelFile(uninterruptedWeights);
        var actual = ClassifierTrainer.ReadModelFile(weights);
        try
        {
            Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
            foreach (var (name, tensor) in expected)
                Assert.True(TestData.RawBytes(tensor).AsSpan().SequenceEqual(TestData.RawBytes(actual[name])), $"{name} differs after resuming");
        }
        finally
        {
            foreach (var tensor in expected.Values.Concat(actual.Values)) tensor.Dispose();
        }
    }

    // Checkpoints every 4 steps; one thread, so that both runs sum in the same order.
    private static string[] Arguments(string data, string workspace, string weights) =>
    [
        "--data-dir", data, "--workspace", workspace, "--save-weights", weights, "--epochs", $"{Epochs}", "--batch-size", $"{BatchSize}",
        "--checkpoint-every", "4", "--report-every", "1", "--threads", "1", "--seed", "7", "--norm", "bn", "--crop-padding", "2", "--flip",
    ];

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

    // Kills the process (SIGKILL: no handler runs, a checkpoint write may be cut short) as soon as it prints a line containing marker.
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
