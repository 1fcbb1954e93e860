namespace MLNetNormalization.Normalization.Core;

/// <summary>
/// The [N, C] cells of a batch split into the sets of one pixel set, for the statistics algebra done in .NET arrays
/// (<see cref="SetMixture"/>). Set s is (example group, channel group), numbered row-major over [example groups,
/// channel groups] as <see cref="SetPooling.PoolSets"/> lays out its tables, so a set table of a batch-wide set is
/// the layout of its running moments. Every cell holds the same H·W pixels, so a set's statistics weigh its cells
/// equally, remainder chunks included.
/// </summary>
internal sealed class CellPartition
{
    public CellPartition(PixelSet set, int examples, int channels)
    {
        var groups = (int)set.GroupCount(channels);
        var channelsPerGroup = channels / groups;
        var (exampleGroupOf, exampleGroups) = set.Examples switch
        {
            ExampleGrouping.Each => (Enumerable.Range(0, examples).ToArray(), examples),
            ExampleGrouping.All => (new int[examples], 1),
            _ => ChunkOfExample(set, examples),
        };
        Set = set;
        SetCount = exampleGroups * groups;
        SetOf = new int[examples * channels];
        CellsPerSet = new int[SetCount];
        for (var n = 0; n < examples; n++)
            for (var c = 0; c < channels; c++)
            {
                var s = exampleGroupOf[n] * groups + c / channelsPerGroup;
                SetOf[n * channels + c] = s;
                CellsPerSet[s]++;
            }
    }

    public PixelSet Set { get; }

    public int SetCount { get; }

    /// <summary>The set of cell i = n·C + c.</summary>
    public int[] SetOf { get; }

    public int[] CellsPerSet { get; }

    /// <summary>
    /// Each set's mean of the cell means and mean of (cell variance + (cell mean - set mean)²): Chan's combination of
    /// equally many pixels per cell, as <see cref="Pool.Equal"/>.
    /// </summary>
    public (double[] Mean, double[] Var) Pool(double[] cellMean, double[] cellVar)
    {
        var mean = SumPerSet(cellMean);
        for (var s = 0; s < SetCount; s++) mean[s] /= CellsPerSet[s];
        var var = new double[SetCount];
        for (var i = 0; i < SetOf.Length; i++)
        {
            var deviation = cellMean[i] - mean[SetOf[i]];
            var[SetOf[i]] += cellVar[i] + deviation * deviation;
        }
        for (var s = 0; s < SetCount; s++) var[s] /= CellsPerSet[s];
        return (mean, var);
    }

    /// <summary>Σ over each set's cells of <paramref name="perCell"/>.</summary>
    public double[] SumPerSet(double[] perCell)
    {
        var sums = new double[SetCount];
        for (var i = 0; i < SetOf.Length; i++) sums[SetOf[i]] += perCell[i];
        return sums;
    }

    private static (int[] GroupOf, int Groups) ChunkOfExample(PixelSet set, int examples)
    {
        var (chunkOf, chunks) = set.ChunksFor(examples);
        return (chunkOf.Select(chunk => (int)chunk).ToArray(), chunks);
    }
}
