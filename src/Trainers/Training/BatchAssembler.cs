using System.Runtime.ExceptionServices;
using System.Buffers;
using System.Threading.Channels;
using MLNetNormalization.Data;

namespace MLNetNormalization.Training;

/// <summary>One batch as the trainer consumes it: standardized CHW images, row after row, and their labels.</summary>
internal sealed record ImageBatch(int Index, float[] Images, long[] Labels)
{
    public int Count => Labels.Length;
}

/// <summary>
/// Assembles batches from an image source on a background thread, ahead of the trainer, a batch of large images on as
/// many threads as there are cores: reads each image, augments it (random crop after zero padding, horizontal flip) and
/// standardizes it per channel.
/// Everything random is derived from (seed, epoch) for the order and (seed, epoch, batch) for the
/// augmentation, so a batch is the same whichever batch a run starts or resumes at.
/// </summary>
internal sealed class BatchAssembler
{
    private readonly ILabeledImageSource source;
    private readonly float[] mean, inverseStd;
    private readonly int cropPadding;
    private readonly bool flip;

    // Values an image needs for its batch to be made on several threads: 3x148x148 and up (224x224 RGB is 150,528).
    private const int ParallelImageValues = 1 << 16;

    public BatchAssembler(ILabeledImageSource source, int batchSize, IReadOnlyList<double> pixelMean, IReadOnlyList<double> pixelStd,
                          int cropPadding = 0, bool horizontalFlip = false, ulong seed = 0, int prefetch = 4)
    {
        if (source.Count == 0) throw new ArgumentException("The image source is empty; give it at least one example.", nameof(source));
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be >= 1.");
        var channels = source.Shape.Channels;
        mean = PerChannel(pixelMean, channels, nameof(pixelMean)).Select(v => (float)v).ToArray();
        inverseStd = PerChannel(pixelStd, channels, nameof(pixelStd)).Select(v => (float)(1 / v)).ToArray();
        this.source = source;
        BatchSize = batchSize;
        this.cropPadding = cropPadding;
        flip = horizontalFlip;
        Seed = seed;
        Prefetch = prefetch;
    }

    public int BatchSize { get; }
    public ulong Seed { get; }
    public int Prefetch { get; }

    /// <summary>
    /// Batches in a training epoch: all examples, shuffled. A last batch of a single example is dropped,
    /// because batch statistics over one example are undefined for most normalizers.
    /// </summary>
    public int TrainingBatches => source.Count / BatchSize + (source.Count % BatchSize > 1 ? 1 : 0);

    /// <summary>Batches of <see cref="InOrder"/>: all examples, the last batch possibly of one.</summary>
    public int OrderedBatches => (source.Count + BatchSize - 1) / BatchSize;

    /// <summary>A training epoch from batch <paramref name="firstBatch"/> on: shuffled and augmented as (seed, epoch) dictate.</summary>
    public IEnumerable<ImageBatch> Training(int epoch, int firstBatch = 0, CancellationToken cancellation = default)
    {
        var order = Enumerable.Range(0, source.Count).ToArray();
        new Random(MixSeed(Seed, (ulong)epoch, 0)).Shuffle(order);
        return Produce(order, TrainingBatches, firstBatch, augment: true, epoch, cancellation);
    }

    /// <summary>Every example in source order, not augmented (for evaluation and prediction).</summary>
    public IEnumerable<ImageBatch> InOrder(CancellationToken cancellation = default) =>
        Produce(Enumerable.Range(0, source.Count).ToArray(), OrderedBatches, 0, augment: false, 0, cancellation);

    private IEnumerable<ImageBatch> Produce(int[] order, int batches, int firstBatch, bool augment, int epoch, CancellationToken cancellation)
    {
        if (firstBatch < 0 || firstBatch > batches)
            throw new ArgumentOutOfRangeException(nameof(firstBatch), firstBatch, $"An epoch here has {batches} batches.");
        var queue = Channel.CreateBounded<ImageBatch>(new BoundedChannelOptions(Prefetch) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var producer = Task.Run(() =>
        {
            try
            {
                for (var b = firstBatch; b < batches; b++)
                {
                    var batch = Assemble(order, b, augment, epoch);
                    while (!queue.Writer.TryWrite(batch))
                        if (!queue.Writer.WaitToWriteAsync(stop.Token).AsTask().GetAwaiter().GetResult()) return;
                }
                queue.Writer.Complete();
            }
            catch (Exception e)
            {
                queue.Writer.Complete(e);
            }
        });
        try
        {
            while (queue.Reader.WaitToReadAsync(cancellation).AsTask().GetAwaiter().GetResult())
                while (queue.Reader.TryRead(out var batch))
                {
                    // Batches already queued are not handed out once cancellation is requested.
                    cancellation.ThrowIfCancellationRequested();
                    yield return batch;
                }
        }
        finally
        {
            // The consumer stopped early (early stopping, cancellation, an exception): release the producer.
            stop.Cancel();
            try { producer.Wait(); } catch (AggregateException) { }
        }
    }

    private ImageBatch Assemble(int[] order, int batchIndex, bool augment, int epoch)
    {
        var start = batchIndex * BatchSize;
        var count = Math.Min(BatchSize, order.Length - start);
        var shape = source.Shape;
        var size = shape.ElementCount;
        var images = new float[count * size];
        var labels = new long[count];
        // Without a crop or a flip the augmentation draws nothing and copies the image: it is skipped, with the same result.
        var random = augment && (cropPadding > 0 || flip) ? new Random(MixSeed(Seed, (ulong)epoch, (ulong)batchIndex + 1)) : null;
        // The augmentation's draws, image by image in the batch's order, before the images are made on several threads.
        var moves = random is null ? null : Enumerable.Range(0, count).Select(_ => DrawMove(random)).ToArray();
        // Small images are made faster on this thread alone than the threads' coordination costs, and leave the cores
        // to training: Fashion-MNIST's 28x28 trained measurably slower with its batches made in parallel.
        var threads = size >= ParallelImageValues ? Environment.ProcessorCount : 1;
        try
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = threads }, i => AssembleImage(i));
        }
        catch (AggregateException e)
        {
            // The source's own error (an unreadable image, say) reaches the consumer as it was thrown.
            ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }
        return new ImageBatch(batchIndex, images, labels);

        void AssembleImage(int i)
        {
            var example = order[start + i];
            labels[i] = source.GetLabel(example);
            var destination = images.AsSpan(i * size, size);
            if (moves is null)
            {
                source.ReadImage(example, destination);
            }
            else
            {
                var raw = ArrayPool<float>.Shared.Rent(size);
                try
                {
                    source.ReadImage(example, raw.AsSpan(0, size));
                    Augment(raw.AsSpan(0, size), destination, shape, moves[i]);
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(raw);
                }
            }
            Standardize(destination, shape);
        }
    }

    /// <summary>One image's augmentation: a shift by (dy, dx) in [-padding, padding] and a mirror with probability 1/2.</summary>
    private readonly record struct Move(int Dy, int Dx, bool Mirror);

    private Move DrawMove(Random random)
    {
        var dy = cropPadding > 0 ? random.Next(-cropPadding, cropPadding + 1) : 0;
        var dx = cropPadding > 0 ? random.Next(-cropPadding, cropPadding + 1) : 0;
        return new(dy, dx, flip && random.Next(2) == 1);
    }

    // Shifts the image (the crop of the zero-padded image) and mirrors it as the move says; pixels shifted in from
    // outside are 0, as padding the [0, 1] image with black.
    private static void Augment(ReadOnlySpan<float> image, Span<float> destination, ImageShape shape, Move move)
    {
        var (dy, dx, mirror) = (move.Dy, move.Dx, move.Mirror);
        var (height, width) = (shape.Height, shape.Width);
        for (var c = 0; c < shape.Channels; c++)
        {
            var plane = c * height * width;
            for (var y = 0; y < height; y++)
            {
                var sourceY = y + dy;
                for (var x = 0; x < width; x++)
                {
                    var sourceX = (mirror ? width - 1 - x : x) + dx;
                    destination[plane + y * width + x] = sourceY >= 0 && sourceY < height && sourceX >= 0 && sourceX < width
                        ? image[plane + sourceY * width + sourceX]
                        : 0f;
                }
            }
        }
    }

    private void Standardize(Span<float> image, ImageShape shape)
    {
        var plane = shape.Height * shape.Width;
        for (var c = 0; c < shape.Channels; c++)
        {
            var (m, s) = (mean[c], inverseStd[c]);
            foreach (ref var value in image.Slice(c * plane, plane)) value = (value - m) * s;
        }
    }

    private static double[] PerChannel(IReadOnlyList<double> values, int channels, string name)
    {
        if (values.Count == 1) return Enumerable.Repeat(values[0], channels).ToArray();
        if (values.Count == channels) return values.ToArray();
        throw new ArgumentException($"{name} has {values.Count} values for {channels}-channel images; give one value, or one per channel.", name);
    }

    /// <summary>A 32-bit seed for System.Random from (seed, a, b), well mixed (SplitMix64's finalizer), so nearby inputs give unrelated streams.</summary>
    internal static int MixSeed(ulong seed, ulong a, ulong b)
    {
        var z = seed ^ (a * 0x9E3779B97F4A7C15UL) ^ (b * 0xC2B2AE3D27D4EB4FUL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }
}
