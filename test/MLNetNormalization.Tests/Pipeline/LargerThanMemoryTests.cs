using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetNormalization.Tests.Support;
using MLNetNormalization.Training;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>
/// Fit on more pixels than one .NET array holds (15,000 images of 3 x 224 x 224: 2.26 billion floats, 9 GB), from a
/// view that makes each row when a cursor asks for it: the trainer keeps them in a temporary file, not in memory, so the
/// process grows by a few batches and a network, and training runs. Cancelled after a few steps, which the checkpoint
/// it writes on the way out records.
/// </summary>
[Collection(TestCollections.NativeMemory)]
public sealed class LargerThanMemoryTests : IDisposable
{
    // 15,000 x 3 x 224 x 224 = 2,257,920,000 values, more than Array.MaxLength (2,147,483,591).
    private const int Images = 15_000, Channels = 3, Side = 224;

    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    private sealed class Row
    {
        public uint Label { get; set; }

        [VectorType(Channels, Side, Side)]
        public float[] Features { get; set; } = [];
    }

    // Class 0 bright, class 1 dark, each image with a bright column of its own: made when a cursor reads the row, in one
    // buffer that every row reuses (as ML.NET's own transforms reuse theirs), so the view never holds more than a row.
    private static IEnumerable<Row> MakeRows()
    {
        var row = new Row { Features = new float[Channels * Side * Side] };
        for (var i = 0; i < Images; i++)
        {
            row.Label = (uint)(i % 2);
            Array.Fill(row.Features, row.Label == 0 ? 0.5f : -0.5f);
            for (var y = 0; y < Side; y++) row.Features[y * Side + i % Side] = 1f;
            yield return row;
        }
    }

    [Fact]
    public void FitTrainsOnAViewLargerThanAnArrayWithTheMemoryOfAFewBatches()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(MakeRows());
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
        var workspace = temp.File("workspace");
        using var cancellation = new CancellationTokenSource();
        // Training starts once every image is in the cache; a few seconds of it are a few steps of ResNet-18 at 224 x 224.
        ml.Log += (_, e) =>
        {
            if (e.Message.Contains("Training ResNet18", StringComparison.Ordinal)) cancellation.CancelAfter(TimeSpan.FromSeconds(4));
        };
        var trainer = ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(new ImageClassifierWithNormOptions
        {
            Architecture = Architecture.ResNet18, BatchSize = 8, Epochs = 1, CropPadding = 0, HorizontalFlip = false,
            Device = ComputeDevice.Cpu, WorkspacePath = workspace, CancellationToken = cancellation.Token,
        });

        var before = ResidentBytes();
        long peak = before;
        using (new Timer(_ => Interlocked.Exchange(ref peak, Math.Max(Interlocked.Read(ref peak), ResidentBytes())), null, 0, 100))
            Assert.ThrowsAny<OperationCanceledException>(() => trainer.Fit(keyed));
        var grown = Math.Max(peak, ResidentBytes()) - before;

        var (position, tensors) = Checkpoint.ReadTensors(Path.Combine(workspace, ClassifierTrainer.CheckpointFileName));
        foreach (var tensor in tensors.Values) tensor.Dispose();
        Assert.True(position.GlobalStep >= 1, $"cancelled before the first step ({position})");
        // The images alone are 9 GB as floats; the process may grow by the network, its activations and a few batches.
        Assert.True(grown < 3L << 30, $"the process grew by {grown >> 20} MiB while training on {Images} images of {Channels}x{Side}x{Side}");
    }

    // The process's resident set (VmRSS), in bytes.
    private static long ResidentBytes()
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
