using MLNetNormalization.Data;

namespace MLNetNormalization.Tests.Trainers.Training;

/// <summary>
/// The trainer's image cache, in memory, in its temporary file, and moved there half-way: records read back as written,
/// subsets, threads, and no file left behind.
/// </summary>
public sealed class ImageCacheTests
{
    private static readonly string[] Classes = ["a", "b"];

    private static byte[] Record(params float[] values) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    /// <summary>Memory limits: the default (records in memory), none (in the file from the first record), two records of 8 bytes (moved at the third).</summary>
    public static TheoryData<long, bool> Limits() => new() { { ImageCache.MemoryLimit, false }, { 0, true }, { 16, true } };

    [Theory]
    [MemberData(nameof(Limits))]
    public void PixelsReadBackBitForBitAndSubsetsKeepTheGivenOrder(long memoryLimit, bool onDisk)
    {
        var shape = new ImageShape(1, 1, 2);
        using var cache = ImageCache.Create(shape, FeatureKind.Pixels, Classes, memoryLimit);
        float[][] images = [[0.5f, -1f], [float.Epsilon, 3.4e38f], [-0f, 1e-7f]];
        int[] labels = [1, 0, 1];
        for (var i = 0; i < images.Length; i++) cache.Append(Record(images[i]), labels[i]);
        cache.Complete();
        Assert.Equal(onDisk, cache.OnDisk);

        var image = new float[2];
        for (var i = 0; i < images.Length; i++)
        {
            cache.ReadImage(i, image);
            Assert.Equal(Record(images[i]), Record(image));
            Assert.Equal(labels[i], cache.GetLabel(i));
        }
        Assert.Equal(3 * 2 * sizeof(float), cache.Bytes);

        var subset = cache.Subset([2, 0]);
        subset.ReadImage(0, image);
        Assert.Equal(Record(images[2]), Record(image));
        Assert.Equal((2, 1, 1), (subset.Count, subset.GetLabel(0), subset.GetLabel(1)));
        Assert.Equal(shape, subset.Shape);
    }

    [Theory]
    [MemberData(nameof(Limits))]
    public void EncodedImagesKeepTheirRgbBytesAndGiveTheFloatsOfADirectDecoding(long memoryLimit, bool onDisk)
    {
        // A 2x1 RGB record: a colour pixel and a gray one.
        byte[] record = [10, 200, 30, 77, 77, 77];
        foreach (var channels in new[] { 1, 3 })
        {
            var shape = new ImageShape(channels, 1, 2);
            using var cache = ImageCache.Create(shape, FeatureKind.EncodedImages, Classes, memoryLimit);
            cache.Append(record, 0);
            cache.Complete();
            Assert.Equal(onDisk && memoryLimit < record.Length, cache.OnDisk);
            var image = new float[shape.ElementCount];
            cache.ReadImage(0, image);
            float[] expected = channels == 3
                ? [10 / 255f, 77 / 255f, 200 / 255f, 77 / 255f, 30 / 255f, 77 / 255f]
                : [(0.299f * 10 + 0.587f * 200 + 0.114f * 30) / 255f, 77 / 255f];
            Assert.Equal(expected, image);
        }
    }

    [Theory]
    [MemberData(nameof(Limits))]
    public void ReadsFromSeveralThreadsAtOnceGiveEachImageItsOwnValues(long memoryLimit, bool onDisk)
    {
        var shape = new ImageShape(3, 8, 8);
        using var cache = ImageCache.Create(shape, FeatureKind.Pixels, Classes, memoryLimit);
        for (var i = 0; i < 200; i++) cache.Append(Record([.. Enumerable.Repeat((float)i, shape.ElementCount)]), i % 2);
        cache.Complete();
        Assert.Equal(onDisk, cache.OnDisk);
        Parallel.For(0, 2000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, k =>
        {
            var index = k * 7 % 200;
            var image = new float[shape.ElementCount];
            cache.ReadImage(index, image);
            Assert.All(image, value => Assert.Equal(index, value));
        });
    }

    [Fact]
    public void NoFileIsLeftInTheTemporaryFolderEvenWhileTheCacheIsOpen()
    {
        static string[] Files() => Directory.GetFiles(Path.GetTempPath(), "mlnorm-images-*.bin");
        var before = Files();
        using (var cache = ImageCache.Create(new ImageShape(1, 2, 2), FeatureKind.Pixels, Classes, memoryLimit: 0))
        {
            cache.Append(Record(1, 2, 3, 4), 0);
            Assert.True(cache.OnDisk);
            // Unlinked on creation: a process killed now leaves nothing behind.
            Assert.Equal(before, Files());
        }
        Assert.Equal(before, Files());
    }

    [Fact]
    public void ReadingBeforeCompleteAndAppendingAfterItAreRefused()
    {
        using var cache = ImageCache.Create(new ImageShape(1, 1, 1), FeatureKind.Pixels, Classes);
        cache.Append(Record(1), 0);
        Assert.Throws<InvalidOperationException>(() => cache.ReadImage(0, new float[1]));
        cache.Complete();
        Assert.Throws<InvalidOperationException>(() => cache.Append(Record(2), 1));
    }
}
