namespace MLNetNormalization.Normalization.Core;

/// <summary>Where a pixel set's running statistics come from.</summary>
internal enum RunningStatisticsKind
{
    /// <summary>None: inference uses the example's own statistics, whatever alpha is.</summary>
    None,
    /// <summary>Per cell of a batch-dependent set (per channel for BN, per group for EN(G)), the variance unbiased by the set's count.</summary>
    PerSet,
    /// <summary>Per channel, from the whole batch as BN; a set's running moments are the averages over its channels.</summary>
    PerChannel,
}

/// <summary>
/// The statistics one pixel set normalizes with: the batch's while training (updating the running
/// statistics), and at inference the example's own statistics over the same set mixed with the running
/// ones by the layer's alpha.
/// </summary>
internal sealed class PixelSetStatistics
{
    private readonly RunningMoments? running;

    public PixelSetStatistics(PixelSet set, RunningStatisticsKind kind, RunningMoments? running)
    {
        if ((kind == RunningStatisticsKind.None) != (running is null))
            throw new ArgumentException($"{set}: running moments are needed exactly when the kind is not None.", nameof(running));
        if (kind == RunningStatisticsKind.PerSet && !set.IsBatchDependent)
            throw new ArgumentException($"{set} is computed per example; it has no per-set running statistics.", nameof(kind));
        Set = set;
        Kind = kind;
        this.running = running;
    }

    public PixelSet Set { get; }
    public RunningStatisticsKind Kind { get; }

    /// <summary>True when <see cref="Inference"/> with this alpha returns the running statistics alone, whatever the input.</summary>
    public bool IsFixedAtInference(double alpha) => Kind != RunningStatisticsKind.None && alpha == 0;

    /// <summary>True when <see cref="Inference"/> with this alpha returns the example's own statistics alone.</summary>
    public bool UsesExampleAlone(double alpha) => Kind == RunningStatisticsKind.None || alpha == 1;

    /// <summary>The batch statistics per cell; updates the running statistics.</summary>
    public MeanVar Training(CellMoments cells, double momentum)
    {
        var table = Set.PoolSets(cells);
        switch (Kind)
        {
            case RunningStatisticsKind.PerSet:
                running!.Update(table, cells.N * (cells.C / Set.GroupCount(cells.C)) * cells.PixelsPerCell, momentum);
                break;
            case RunningStatisticsKind.PerChannel:
                running!.Update(PixelSet.Batch.PoolSets(cells), cells.N * cells.PixelsPerCell, momentum);
                break;
        }
        return Set.ToCells(table, cells);
    }

    /// <summary>The running-moments update <see cref="Training"/> makes, as <see cref="SetMixture"/> makes it.</summary>
    public IEnumerable<RunningUpdate> TrainingUpdates() => Kind switch
    {
        RunningStatisticsKind.PerSet => [new RunningUpdate(Set, running!)],
        RunningStatisticsKind.PerChannel => [new RunningUpdate(PixelSet.Batch, running!)],
        _ => [],
    };

    /// <summary>
    /// The set <see cref="Inference"/> pools, the set within the example, with the running moments per channel group it
    /// mixes in by <paramref name="alpha"/> (in .NET arrays, as <see cref="RunningPerGroup"/>), for <see cref="SetMixture"/>.
    /// </summary>
    public SetSource InferenceSource(long channels, double alpha)
    {
        if (UsesExampleAlone(alpha)) return new(Set.WithinExample);
        var (mean, var) = (TableAffine.Read(running!.Mean), TableAffine.Read(running.Var));
        var groups = (int)Set.GroupCount(channels);
        if (Kind == RunningStatisticsKind.PerSet || groups == channels) return new(Set.WithinExample, (mean, var), alpha);
        // Pool.Equal over each group's channels: the mean of the means, the mean of the variances plus the variance of the means.
        var perGroup = (int)(channels / groups);
        var (groupMean, groupVar) = (new double[groups], new double[groups]);
        for (var g = 0; g < groups; g++)
        {
            var channelsOfGroup = Enumerable.Range(g * perGroup, perGroup).ToArray();
            groupMean[g] = channelsOfGroup.Average(c => mean[c]);
            groupVar[g] = channelsOfGroup.Average(c => var[c] + (mean[c] - groupMean[g]) * (mean[c] - groupMean[g]));
        }
        return new(Set.WithinExample, (groupMean, groupVar), alpha);
    }

    /// <summary>The inference statistics per cell: alpha·example + (1 - alpha)·running, in the sense of <see cref="Pool.MixWithRunning"/>.</summary>
    public MeanVar Inference(CellMoments cells, double alpha)
    {
        var withinExample = Set.WithinExample;
        if (UsesExampleAlone(alpha))
            return withinExample.ToCells(withinExample.PoolSets(cells), cells);
        var runningTable = RunningPerGroup(cells.C);
        var example = alpha == 0 ? runningTable : withinExample.PoolSets(cells);
        return withinExample.ToCells(Pool.MixWithRunning(example, runningTable, alpha), cells);
    }

    /// <summary>[1, G] running moments of the set's channel groups.</summary>
    internal MeanVar RunningPerGroup(long channels)
    {
        var perCell = running!.AsMeanVar;
        var groups = Set.GroupCount(channels);
        if (Kind == RunningStatisticsKind.PerSet || groups == channels)
            return new(perCell.Mean.reshape(1, groups), perCell.Var.reshape(1, groups));
        return Pool.Equal(new(perCell.Mean.view(1, groups, channels / groups), perCell.Var.view(1, groups, channels / groups)), 2);
    }
}
