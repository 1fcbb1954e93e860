namespace MLNetNormalization.Normalization;

/// <summary>How a pixel set groups the examples of a batch.</summary>
public enum ExampleGrouping
{
    /// <summary>Every example on its own (IN, LN, GN).</summary>
    Each,
    /// <summary>All examples of the batch together (BN, EN).</summary>
    All,
    /// <summary>Contiguous chunks of examples (ghost BN, batch-group norm).</summary>
    Chunks,
}

/// <summary>
/// A pixel set in the heterologous-normalization paper's sense: which (n, c) cells pool their pixels
/// into one mean and variance. Channels are split into contiguous groups (null: every channel is
/// its own group), examples are taken one by one, all together, or in contiguous chunks.
/// </summary>
public sealed record PixelSet
{
    private PixelSet(string name, ExampleGrouping examples, int? channelGroups, int chunkSize = 0, bool singleRemainderJoins = false)
    {
        if (channelGroups is <= 0)
            throw new ArgumentOutOfRangeException(nameof(channelGroups), channelGroups, $"{name}: the group count must be positive.");
        if (examples == ExampleGrouping.Chunks && chunkSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(chunkSize), chunkSize, $"{name}: the examples per chunk must be positive.");
        Name = name;
        Examples = examples;
        ChannelGroups = channelGroups;
        ChunkSize = chunkSize;
        SingleRemainderJoins = singleRemainderJoins;
    }

    /// <summary>BN: one channel over all examples.</summary>
    public static PixelSet Batch { get; } = new("BN", ExampleGrouping.All, null);

    /// <summary>IN: one (n, c) cell.</summary>
    public static PixelSet Instance { get; } = new("IN", ExampleGrouping.Each, null);

    /// <summary>LN: one example, all channels.</summary>
    public static PixelSet Layer { get; } = new("LN", ExampleGrouping.Each, 1);

    /// <summary>GN(G): one example, one of G contiguous channel groups.</summary>
    public static PixelSet Group(int groups) => new($"GN{groups}", ExampleGrouping.Each, groups);

    /// <summary>EN(G): one channel group over all examples (G = 1: every pixel of the layer).</summary>
    public static PixelSet Extended(int groups) => new($"EN{groups}", ExampleGrouping.All, groups);

    /// <summary>Ghost BN: one channel over a chunk of <paramref name="examplesPerChunk"/> examples; a last chunk of one example joins the chunk before it.</summary>
    public static PixelSet Ghost(int examplesPerChunk) =>
        new($"ghost{examplesPerChunk}", ExampleGrouping.Chunks, null, examplesPerChunk, singleRemainderJoins: true);

    /// <summary>Batch-group norm: one of G channel groups over a chunk of <paramref name="examplesPerChunk"/> examples (a shorter last chunk stays on its own).</summary>
    public static PixelSet BatchGroup(int groups, int examplesPerChunk) =>
        new($"BGN{groups}x{examplesPerChunk}", ExampleGrouping.Chunks, groups, examplesPerChunk);

    public string Name { get; }
    public ExampleGrouping Examples { get; }
    public int? ChannelGroups { get; }
    public int ChunkSize { get; }
    public bool SingleRemainderJoins { get; }

    /// <summary>True when an example's statistics depend on other examples of the batch (then running statistics stand in at inference).</summary>
    public bool IsBatchDependent => Examples != ExampleGrouping.Each;

    /// <summary>The same channel grouping within one example: what inference example weighing takes from the example.</summary>
    public PixelSet WithinExample => Examples == ExampleGrouping.Each ? this : new($"{Name}/example", ExampleGrouping.Each, ChannelGroups);

    public long GroupCount(long channels) => ChannelGroups ?? channels;

    /// <summary>Throws unless the channels split evenly into this set's groups.</summary>
    public void CheckChannels(string layer, long channels)
    {
        var groups = GroupCount(channels);
        if (channels % groups != 0)
        {
            var divisors = Enumerable.Range(1, (int)channels).Where(d => channels % d == 0);
            throw new ArgumentException(
                $"{layer}: {channels} channels cannot be split into {groups} groups ({Name}); use a group count that divides {channels}: {string.Join(", ", divisors)}.");
        }
    }

    /// <summary>Chunk of each example, and the chunk count, for a batch of n.</summary>
    internal (long[] ChunkOfExample, int Chunks) ChunksFor(long n)
    {
        var full = (int)(n / ChunkSize);
        var remainder = n % ChunkSize;
        var chunks = remainder == 0 || (remainder == 1 && SingleRemainderJoins && full > 0) ? full : full + 1;
        var chunkOf = new long[n];
        for (long i = 0; i < n; i++) chunkOf[i] = Math.Min(i / ChunkSize, chunks - 1);
        return (chunkOf, chunks);
    }

    /// <summary>How many values the smallest set of this kind holds in a batch of the given shape.</summary>
    internal long SmallestSetSize(long n, long channels, long pixelsPerCell)
    {
        var examples = Examples switch
        {
            ExampleGrouping.Each => 1,
            ExampleGrouping.All => n,
            _ => ChunksFor(n).ChunkOfExample.GroupBy(c => c).Min(g => g.LongCount()),
        };
        return examples * (channels / GroupCount(channels)) * pixelsPerCell;
    }

    public override string ToString() => Name;
}
