namespace MLNetNormalization.Normalization.Core;

/// <summary>Pools cell moments into a pixel set's statistics, and spreads set statistics back over the cells.</summary>
internal static class SetPooling
{
    /// <summary>The statistics of every set of the batch: [sets of examples, channel groups] tables.</summary>
    public static MeanVar PoolSets(this PixelSet set, CellMoments cells)
    {
        var groups = set.GroupCount(cells.C);
        var perGroup = groups == cells.C
            ? cells.AsMeanVar
            : Pool.Equal(new(cells.Mean.view(cells.N, groups, cells.C / groups), cells.Var.view(cells.N, groups, cells.C / groups)), 2);
        switch (set.Examples)
        {
            case ExampleGrouping.Each:
                return perGroup;
            case ExampleGrouping.All:
                return Pool.Equal(perGroup, 0, keepDim: true);
            default:
                var (chunkOf, chunks) = set.ChunksFor(cells.N);
                if (cells.N == (long)chunks * set.ChunkSize)
                    return Pool.Equal(new(perGroup.Mean.view(chunks, set.ChunkSize, groups), perGroup.Var.view(chunks, set.ChunkSize, groups)), 1);
                return Pool.Weighted(perGroup, OneHot(chunkOf, chunks, cells.Mean.device));
        }
    }

    /// <summary>
    /// Spreads a set table over the [N, C] cells: [N, G] per example, [1, G] or [G] for the whole
    /// batch, or [chunks, G] per chunk of examples.
    /// </summary>
    public static Tensor ToCells(this PixelSet set, Tensor table, CellMoments cells)
    {
        var groups = set.GroupCount(cells.C);
        var rows = table.dim() == 1 ? table.unsqueeze(0) : table;
        if (set.Examples == ExampleGrouping.Chunks && rows.shape[0] != 1)
            // The index lives where the statistics do (index_select refuses a CPU index for a CUDA tensor).
            rows = rows.index_select(0, tensor(set.ChunksFor(cells.N).ChunkOfExample, device: rows.device));
        var perChannel = groups == cells.C ? rows : rows.repeat_interleave(cells.C / groups, 1);
        return perChannel.expand(cells.N, cells.C);
    }

    public static MeanVar ToCells(this PixelSet set, MeanVar table, CellMoments cells) =>
        new(set.ToCells(table.Mean, cells), set.ToCells(table.Var, cells));

    // Built on the statistics' device: matmul does not mix a CPU and a CUDA operand.
    private static Tensor OneHot(long[] chunkOf, int chunks, Device device)
    {
        var values = new double[chunkOf.Length * chunks];
        for (var i = 0; i < chunkOf.Length; i++) values[i * chunks + chunkOf[i]] = 1;
        return tensor(values, [chunkOf.Length, chunks], device: device);
    }
}
