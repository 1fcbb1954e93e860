namespace MLNetNormalization.Data;

public sealed partial class DataOperationsCatalog
{
    /// <summary>The two halves of a split.</summary>
    public sealed class TrainTestData(IDataView trainSet, IDataView testSet)
    {
        public IDataView TrainSet { get; } = trainSet;

        public IDataView TestSet { get; } = testSet;
    }

    /// <summary>
    /// Splits <paramref name="data"/> into a train and a test set, the same way for the same seed (when null, the
    /// next seed of the context's generator). Rows keep their order within each set.
    /// <list type="bullet">
    /// <item>By default the test set is exactly round(testFraction · N) rows (halves away from zero), chosen uniformly.</item>
    /// <item>With <paramref name="samplingKeyColumnName"/>, rows sharing a value of that column go to the same set:
    /// round(testFraction · G) of the G distinct values are chosen uniformly, so the row count is only near the fraction.</item>
    /// <item>With <paramref name="stratificationColumnName"/>, each class (value of that column) is split on its own:
    /// round(testFraction · n_c) of its n_c rows go to the test set, so class proportions are kept; the total can
    /// differ from round(testFraction · N) by rounding.</item>
    /// </list>
    /// Both halves are lazy: the row assignment is computed by one pass over the data when either is first read.
    /// </summary>
    public TrainTestData TrainTestSplit(IDataView data, double testFraction = 0.1, string? samplingKeyColumnName = null, int? seed = null,
        string? stratificationColumnName = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!(testFraction > 0 && testFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction, "The test fraction must be strictly between 0 and 1.");
        if (samplingKeyColumnName is not null && stratificationColumnName is not null)
            throw new ArgumentException(
                "Pass either samplingKeyColumnName (keep rows with one key together) or stratificationColumnName (keep class proportions), not both.");
        var groupColumnName = samplingKeyColumnName ?? stratificationColumnName;
        var groupColumn = groupColumnName is null
            ? (DataViewSchema.Column?)null
            : data.Schema.Require(groupColumnName, $"TrainTestSplit ({(samplingKeyColumnName is null ? "stratification" : "sampling key")})");
        if (groupColumn is { Type: not PrimitiveDataViewType })
            throw new ArgumentOutOfRangeException(groupColumnName,
                $"TrainTestSplit: the column '{groupColumnName}' is {groupColumn.Value.Type}; only scalar columns (numbers, text, booleans, keys) can group rows.");
        var actualSeed = seed ?? _nextSeed();
        var membership = new Lazy<bool[]>(() => groupColumn is not { } column
            ? SplitRows(ColumnValues.CountRows(data), testFraction, actualSeed)
            : samplingKeyColumnName is not null
                ? SplitByKey(ColumnValues.ReadScalars(data, column, "TrainTestSplit"), testFraction, actualSeed)
                : SplitByClass(ColumnValues.ReadScalars(data, column, "TrainTestSplit"), testFraction, actualSeed),
            // A failed pass (say, a file briefly missing) is not cached: the next cursor tries again.
            LazyThreadSafetyMode.PublicationOnly);
        return new TrainTestData(new RowSubsetDataView(data, membership, keep: false), new RowSubsetDataView(data, membership, keep: true));
    }

    private static int TestCount(double fraction, int count) => (int)Math.Round(fraction * count, MidpointRounding.AwayFromZero);

    /// <summary>True for the test rows: the first round(f·N) of a seeded permutation.</summary>
    private static bool[] SplitRows(int count, double testFraction, int seed)
    {
        var order = Enumerable.Range(0, count).ToArray();
        new Random(seed).Shuffle(order);
        var isTest = new bool[count];
        foreach (var row in order.AsSpan(0, TestCount(testFraction, count))) isTest[row] = true;
        return isTest;
    }

    private static bool[] SplitByKey(List<object> keys, double testFraction, int seed)
    {
        var groups = keys.Distinct().ToArray();
        new Random(seed).Shuffle(groups);
        var testKeys = groups.Take(TestCount(testFraction, groups.Length)).ToHashSet();
        return keys.Select(testKeys.Contains).ToArray();
    }

    /// <summary>Each class, in order of first appearance, gets its own permutation from one seeded generator.</summary>
    private static bool[] SplitByClass(List<object> classes, double testFraction, int seed)
    {
        var random = new Random(seed);
        var isTest = new bool[classes.Count];
        foreach (var rows in Enumerable.Range(0, classes.Count).GroupBy(i => classes[i]))
        {
            var order = rows.ToArray();
            random.Shuffle(order);
            foreach (var row in order.AsSpan(0, TestCount(testFraction, order.Length))) isTest[row] = true;
        }
        return isTest;
    }
}
