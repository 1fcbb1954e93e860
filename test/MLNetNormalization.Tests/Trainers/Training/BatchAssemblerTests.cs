using MLNetNormalization;
using MLNetNormalization.Data;
using MLNetNormalization.Training;

namespace MLNetNormalization.Tests.Trainers.Training;

/// <summary>
/// BatchAssembler: which examples an epoch holds, that a batch depends only on (seed, epoch, batch), the
/// standardization and the crop-and-flip augmentation against pixel-by-pixel oracles, and that errors and
/// early exits of either side of its background queue reach the other side instead of hanging.
/// </summary>
public class BatchAssemblerTests
{
    private static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(30);

    // Grey 1x2x2 images whose every pixel is the example's index, so that a batch row tells which example it holds.
    private static ImageDataset Numbered(int count)
    {
        var pixels = new byte[count * 4];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i / 4);
        return new ImageDataset(pixels, Enumerable.Range(0, count).Select(i => (byte)(i % 4)).ToArray(), 2, 2, ["a", "b", "c", "d"]);
    }

    // The example indices of a batch from Numbered, read back from the unstandardized (mean 0, std 1) pixels.
    private static int[] Examples(ImageBatch batch) =>
        Enumerable.Range(0, batch.Count).Select(i => (int)Math.Round(batch.Images[i * 4] * 255)).ToArray();

    private static BatchAssembler Plain(ILabeledImageSource source, int batchSize, ulong seed = 0) =>
        new(source, batchSize, [0.0], [1.0], seed: seed);

    // 3-channel 8x8 noise images, each with its own label (= its index), so that an augmented image tells which example it came from.
    private static ImageDataset Unique(int count = 24, int seed = 3)
    {
        var random = new Random(seed);
        var shape = new ImageShape(3, 8, 8);
        var pixels = new byte[count * shape.ElementCount];
        random.NextBytes(pixels);
        return new ImageDataset(pixels, Enumerable.Range(0, count).Select(i => (byte)i).ToArray(), shape,
            Enumerable.Range(0, count).Select(i => $"example {i}").ToArray());
    }

    private static readonly double[] Mean = [0.1, 0.5, 0.9], Std = [0.2, 0.3, 0.4];

    // Pixel p of channel c as the trainer should see it: (p / 255 - mean[c]) / std[c], in float64.
    private static double Standardized(double scaled, int channel) => (scaled - Mean[channel]) / Std[channel];

    // Runs the enumeration on another thread and fails, rather than hanging the test run, if it does not end in time.
    private static T WithinTimeLimit<T>(Func<T> work)
    {
        var task = Task.Run(work);
        Assert.True(Task.WhenAny(task, Task.Delay(TimeLimit)).GetAwaiter().GetResult() == task, $"the enumeration did not end within {TimeLimit}");
        return task.GetAwaiter().GetResult();
    }

    [Theory]
    // count, batch size, training batches, ordered batches (worked out by hand).
    [InlineData(37, 8, 5, 5)]   // 4 full batches and one of 5
    [InlineData(34, 8, 5, 5)]   // the last batch has 2 examples: kept
    [InlineData(33, 8, 4, 5)]   // the last batch would have 1 example: dropped from training only
    [InlineData(32, 8, 4, 4)]
    [InlineData(9, 8, 1, 2)]
    [InlineData(1, 8, 0, 1)]
    public void ATrainingEpochHoldsEveryExampleOnceExceptALoneLastOne(int count, int batchSize, int trainingBatches, int orderedBatches)
    {
        var assembler = Plain(Numbered(count), batchSize, seed: 11);
        Assert.Equal(trainingBatches, assembler.TrainingBatches);
        Assert.Equal(orderedBatches, assembler.OrderedBatches);
        var dropped = count % batchSize == 1 ? 1 : 0;

        for (var epoch = 0; epoch < 3; epoch++)
        {
            var batches = WithinTimeLimit(() => assembler.Training(epoch).ToList());
            Assert.Equal(Enumerable.Range(0, trainingBatches), batches.Select(b => b.Index));
            var examples = batches.SelectMany(Examples).ToList();
            Assert.Equal(count - dropped, examples.Count);
            Assert.Equal(examples.Count, examples.Distinct().Count());
            Assert.All(examples, e => Assert.InRange(e, 0, count - 1));
            Assert.Equal(examples.Select(e => (long)(e % 4)), batches.SelectMany(b => b.Labels));
            Assert.All(batches.Take(batches.Count - 1), b => Assert.Equal(batchSize, b.Count));
        }

        // In order: every example, the last batch possibly of one.
        var ordered = WithinTimeLimit(() => assembler.InOrder().ToList());
        Assert.Equal(orderedBatches, ordered.Count);
        Assert.Equal(Enumerable.Range(0, count), ordered.SelectMany(Examples));
    }

    [Fact]
    public void ABatchIsTheSameWhicheverBatchTheEpochStartsAt()
    {
        // Augmented, so that the crop offsets and flips must come out the same too: 40 examples in batches of 6 are 7 batches.
        var source = Unique(40);
        BatchAssembler Create() => new(source, 6, Mean, Std, cropPadding: 2, horizontalFlip: true, seed: 5, prefetch: 2);
        var full = WithinTimeLimit(() => Create().Training(3).ToList());
        Assert.Equal(7, full.Count);

        foreach (var first in new[] { 1, 4, 6, 7 })
        {
            var resumed = WithinTimeLimit(() => Create().Training(3, first).ToList());
            Assert.Equal(full.Count - first, resumed.Count);
            for (var i = 0; i < resumed.Count; i++)
            {
                var expected = full[first + i];
                Assert.Equal(expected.Index, resumed[i].Index);
                Assert.Equal(expected.Labels, resumed[i].Labels);
                Assert.True(expected.Images.AsSpan().SequenceEqual(resumed[i].Images), $"batch {expected.Index} differs when the epoch starts at batch {first}");
            }
        }
    }

    [Fact]
    public void EpochsAndSeedsGiveDifferentOrders()
    {
        var source = Numbered(64);
        List<int> Order(ulong seed, int epoch) => WithinTimeLimit(() => Plain(source, 8, seed).Training(epoch).SelectMany(Examples).ToList());

        Assert.Equal(Order(7, 2), Order(7, 2));
        Assert.NotEqual(Order(7, 2), Order(7, 3));
        Assert.NotEqual(Order(7, 2), Order(8, 2));
        // Shuffled, not in source order.
        Assert.NotEqual(Enumerable.Range(0, 64), Order(7, 0));
    }

    [Fact]
    public void WithoutAugmentationPixelsAreStandardizedPerChannel()
    {
        var source = Unique();
        var size = source.Shape.ElementCount;
        var plane = source.Height * source.Width;
        var assembler = new BatchAssembler(source, 5, Mean, Std, seed: 1);

        void Check(ImageBatch batch, string what)
        {
            for (var i = 0; i < batch.Count; i++)
            {
                // Labels are the example indices.
                var example = (int)batch.Labels[i];
                for (var p = 0; p < size; p++)
                {
                    var expected = Standardized(source.Pixels[example * size + p] / 255.0, p / plane);
                    var actual = batch.Images[i * size + p];
                    Assert.True(Math.Abs(actual - expected) <= 1e-5, $"{what}, example {example}, value {p}: expected {expected}, got {actual}");
                }
            }
        }

        var ordered = WithinTimeLimit(() => assembler.InOrder().ToList());
        Assert.Equal(Enumerable.Range(0, source.Count).Select(i => (long)i), ordered.SelectMany(b => b.Labels));
        foreach (var batch in ordered) Check(batch, "in order");
        foreach (var batch in WithinTimeLimit(() => assembler.Training(0).ToList())) Check(batch, "training");
    }

    [Fact]
    public void AnAugmentedImageIsTheOriginalShiftedWithZeroFillAndPossiblyMirrored()
    {
        const int padding = 2;
        var source = Unique();
        var (channels, height, width) = (source.Shape.Channels, source.Height, source.Width);
        var size = source.Shape.ElementCount;
        var assembler = new BatchAssembler(source, 6, Mean, Std, cropPadding: padding, horizontalFlip: true, seed: 9);

        // The example shifted by (dy, dx): out[y, x] = in[y + dy, x + dx], 0 (black) outside the image; then
        // mirrored left to right if asked; then standardized like any image.
        double[] Candidate(int example, int dy, int dx, bool mirror)
        {
            var shifted = new double[size];
            for (var c = 0; c < channels; c++)
                for (var y = 0; y < height; y++)
                    for (var x = 0; x < width; x++)
                    {
                        var (sy, sx) = (y + dy, x + dx);
                        var inside = sy >= 0 && sy < height && sx >= 0 && sx < width;
                        shifted[(c * height + y) * width + x] = inside ? source.Pixels[example * size + (c * height + sy) * width + sx] / 255.0 : 0;
                    }
            var result = new double[size];
            for (var c = 0; c < channels; c++)
                for (var y = 0; y < height; y++)
                    for (var x = 0; x < width; x++)
                        result[(c * height + y) * width + x] = Standardized(shifted[(c * height + y) * width + (mirror ? width - 1 - x : x)], c);
            return result;
        }

        var found = new List<(int Dy, int Dx, bool Mirror)>();
        for (var epoch = 0; epoch < 3; epoch++)
            foreach (var batch in WithinTimeLimit(() => assembler.Training(epoch).ToList()))
                for (var i = 0; i < batch.Count; i++)
                {
                    var example = (int)batch.Labels[i];
                    var image = batch.Images.AsSpan(i * size, size).ToArray();
                    var matches = (from dy in Enumerable.Range(-padding, 2 * padding + 1)
                                   from dx in Enumerable.Range(-padding, 2 * padding + 1)
                                   from mirror in new[] { false, true }
                                   let candidate = Candidate(example, dy, dx, mirror)
                                   where candidate.Zip(image, (e, a) => Math.Abs(e - a)).Max() <= 1e-5
                                   select (dy, dx, mirror)).ToList();
                    Assert.True(matches.Count == 1,
                        $"epoch {epoch}, example {example}: {matches.Count} of the shifts within ±{padding}, mirrored or not, match the augmented image (expected exactly one)");
                    found.Add(matches[0]);
                }

        // The augmentation really varies, over the whole range: 72 draws leave no shift value out.
        Assert.Equal(Enumerable.Range(-padding, 2 * padding + 1), found.Select(f => f.Dy).Distinct().Order());
        Assert.Equal(Enumerable.Range(-padding, 2 * padding + 1), found.Select(f => f.Dx).Distinct().Order());
        Assert.Contains(found, f => f.Mirror);
        Assert.Contains(found, f => !f.Mirror);
    }

    [Fact]
    public void PerChannelStatisticsMustMatchTheChannels()
    {
        var source = Unique();
        var mean = Assert.Throws<ArgumentException>(() => new BatchAssembler(source, 4, [0.5, 0.5], [0.25]));
        Assert.Equal("pixelMean", mean.ParamName);
        Assert.Contains("2 values for 3-channel images", mean.Message);
        var std = Assert.Throws<ArgumentException>(() => new BatchAssembler(source, 4, [0.5], [0.2, 0.2, 0.2, 0.2]));
        Assert.Equal("pixelStd", std.ParamName);
        Assert.Contains("4 values for 3-channel images", std.Message);
    }

    /// <summary>Reads from an ImageDataset, counting the reads, and throws on one example.</summary>
    private sealed class InstrumentedSource(ImageDataset inner, int corruptExample = -1) : ILabeledImageSource
    {
        private int reads;

        public int Reads => Volatile.Read(ref reads);
        public int Count => inner.Count;
        public ImageShape Shape => inner.Shape;
        public IReadOnlyList<string> ClassNames => inner.ClassNames;
        public int GetLabel(int index) => inner.GetLabel(index);

        public void ReadImage(int index, Span<float> destination)
        {
            Interlocked.Increment(ref reads);
            if (index == corruptExample) throw new InvalidDataException($"example {index} is corrupt");
            inner.ReadImage(index, destination);
        }
    }

    [Fact]
    public void AnErrorOfTheSourceReachesTheConsumer()
    {
        var assembler = Plain(new InstrumentedSource(Numbered(40), corruptExample: 13), 4);
        var training = Assert.Throws<InvalidDataException>(() => WithinTimeLimit(() => assembler.Training(0).ToList()));
        Assert.Equal("example 13 is corrupt", training.Message);
        var ordered = Assert.Throws<InvalidDataException>(() => WithinTimeLimit(() => assembler.InOrder().ToList()));
        Assert.Equal("example 13 is corrupt", ordered.Message);
    }

    [Fact]
    public void AbandoningAnEpochEarlyStopsTheProducer()
    {
        var source = new InstrumentedSource(Numbered(200));
        var assembler = new BatchAssembler(source, 2, [0.0], [1.0], prefetch: 1);
        var first = WithinTimeLimit(() =>
        {
            foreach (var batch in assembler.Training(0)) return batch;
            return null;
        });
        Assert.NotNull(first);

        // The enumerator's disposal waited for the producer to end: nothing is read afterwards, and the
        // bounded queue kept it from reading the whole epoch ahead.
        var readsAtExit = source.Reads;
        Thread.Sleep(200);
        Assert.Equal(readsAtExit, source.Reads);
        Assert.True(readsAtExit < source.Count, $"the producer read {readsAtExit} of {source.Count} images for one consumed batch");
    }

    [Fact]
    public void CancellationEndsTheEnumeration()
    {
        var assembler = Plain(Numbered(200), 2);
        using var cancellation = new CancellationTokenSource();
        var consumed = 0;
        Assert.ThrowsAny<OperationCanceledException>(() => WithinTimeLimit(() =>
        {
            foreach (var _ in assembler.Training(0, cancellation: cancellation.Token))
                if (++consumed == 3) cancellation.Cancel();
            return consumed;
        }));
        Assert.Equal(3, consumed);
    }

    [Fact]
    public void AFirstBatchBeyondTheEpochIsRefused()
    {
        var assembler = Plain(Numbered(37), 8);
        Assert.Throws<ArgumentOutOfRangeException>(() => assembler.Training(0, firstBatch: 6).ToList());
        Assert.Empty(assembler.Training(0, firstBatch: 5));
    }
}
