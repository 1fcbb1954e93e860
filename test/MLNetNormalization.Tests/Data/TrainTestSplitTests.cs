using MLNetNormalization.Data;

namespace MLNetNormalization.Tests.DataViews;

/// <summary>TrainTestSplit: sizes worked out by hand, determinism, disjointness, stratification, laziness.</summary>
public class TrainTestSplitTests
{
    public sealed class Labeled
    {
        public int Id { get; set; }
        public string Label { get; set; } = "";
        public float[] Pixels { get; set; } = [];
    }

    private static List<IdRow> Rows(int count) => Enumerable.Range(0, count).Select(i => new IdRow { Id = i, Name = $"n{i}" }).ToList();

    private static (List<int> Train, List<int> Test) Ids(DataOperationsCatalog.TrainTestData split) =>
        (DataTestSupport.ReadColumn<int>(split.TrainSet, "Id"), DataTestSupport.ReadColumn<int>(split.TestSet, "Id"));

    [Theory]
    [InlineData(10, 0.3, 3)]
    [InlineData(5, 0.5, 3)] // round(2.5) = 3: halves round away from zero
    [InlineData(7, 0.1, 1)] // round(0.7) = 1
    [InlineData(3, 0.1, 0)] // round(0.3) = 0
    public void TheTestSetIsExactlyTheRoundedFractionAndTheHalvesPartitionTheRows(int count, double fraction, int testCount)
    {
        var context = new MLNormContext(5);
        var (train, test) = Ids(context.Data.TrainTestSplit(context.Data.LoadFromEnumerable(Rows(count)), fraction, seed: 11));

        Assert.Equal(testCount, test.Count);
        Assert.Equal(count - testCount, train.Count);
        Assert.Empty(train.Intersect(test));
        Assert.Equal(Enumerable.Range(0, count), train.Concat(test).Order());
        Assert.Equal(train.Order(), train);
        Assert.Equal(test.Order(), test);
    }

    [Fact]
    public void TheSameSeedGivesTheSameSplitAndOtherSeedsOtherSplits()
    {
        var data = new MLNormContext(1).Data;
        var rows = data.LoadFromEnumerable(Rows(40));

        var first = Ids(data.TrainTestSplit(rows, 0.25, seed: 3)).Test;
        Assert.Equal(first, Ids(data.TrainTestSplit(rows, 0.25, seed: 3)).Test);
        Assert.NotEqual(first, Ids(data.TrainTestSplit(rows, 0.25, seed: 4)).Test);

        // Without a seed, each split draws the context's next seed: two contexts with one seed agree call by call.
        var a = new MLNormContext(9);
        var b = new MLNormContext(9);
        var a1 = Ids(a.Data.TrainTestSplit(rows, 0.25)).Test;
        var a2 = Ids(a.Data.TrainTestSplit(rows, 0.25)).Test;
        Assert.Equal(a1, Ids(b.Data.TrainTestSplit(rows, 0.25)).Test);
        Assert.Equal(a2, Ids(b.Data.TrainTestSplit(rows, 0.25)).Test);
        Assert.NotEqual(a1, a2);
        Assert.Equal(9, a.Seed);
    }

    [Fact]
    public void StratifiedSplitsTakeTheRoundedFractionOfEachClass()
    {
        var data = new MLNormContext(1).Data;
        // 6 "a", 6 "b" and 2 "c", interleaved. At 0.25: round(1.5) = 2 of a, 2 of b, round(0.5) = 1 of c; 5 in all,
        // where an unstratified split would take round(3.5) = 4.
        var labels = "aabbaabbaabbcc";
        var rows = data.LoadFromEnumerable(labels.Select((l, i) => new Labeled { Id = i, Label = l.ToString() }).ToList());

        var split = data.TrainTestSplit(rows, 0.25, seed: 2, stratificationColumnName: "Label");
        var testLabels = DataTestSupport.ReadColumn<string>(split.TestSet, "Label");
        Assert.Equal(2, testLabels.Count(l => l == "a"));
        Assert.Equal(2, testLabels.Count(l => l == "b"));
        Assert.Equal(1, testLabels.Count(l => l == "c"));
        Assert.Equal(9, DataTestSupport.ReadColumn<int>(split.TrainSet, "Id").Count);
        Assert.Equal(4, DataTestSupport.ReadColumn<int>(data.TrainTestSplit(rows, 0.25, seed: 2).TestSet, "Id").Count);
    }

    [Fact]
    public void RowsSharingASamplingKeyStayTogether()
    {
        var data = new MLNormContext(1).Data;
        // Five groups (keys 0..4) of two rows each; 0.4 of 5 groups = 2 groups, 4 rows.
        var rows = data.LoadFromEnumerable(Enumerable.Range(0, 10).Select(i => new Labeled { Id = i, Label = (i % 5).ToString() }).ToList());

        var split = data.TrainTestSplit(rows, 0.4, samplingKeyColumnName: "Label", seed: 6);
        var test = DataTestSupport.ReadColumn<string>(split.TestSet, "Label");
        var train = DataTestSupport.ReadColumn<string>(split.TrainSet, "Label");
        Assert.Equal(4, test.Count);
        Assert.Equal(2, test.Distinct().Count());
        Assert.Empty(train.Intersect(test));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-0.5)]
    [InlineData(double.NaN)]
    public void TheFractionMustBeStrictlyBetweenZeroAndOne(double fraction)
    {
        var data = new MLNormContext(1).Data;
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => data.TrainTestSplit(data.LoadFromEnumerable(Rows(3)), fraction));
        Assert.Equal("testFraction", error.ParamName);
    }

    [Fact]
    public void BadGroupingColumnsAreErrorsNamingThem()
    {
        var data = new MLNormContext(1).Data;
        var rows = data.LoadFromEnumerable(new List<Labeled>());

        Assert.Contains("'Class'", Assert.Throws<ArgumentOutOfRangeException>(() => data.TrainTestSplit(rows, stratificationColumnName: "Class")).Message);
        Assert.Contains("'Key'", Assert.Throws<ArgumentOutOfRangeException>(() => data.TrainTestSplit(rows, samplingKeyColumnName: "Key")).Message);
        Assert.Contains("'Pixels'", Assert.Throws<ArgumentOutOfRangeException>(() => data.TrainTestSplit(rows, stratificationColumnName: "Pixels")).Message);
        Assert.Throws<ArgumentException>(() => data.TrainTestSplit(rows, samplingKeyColumnName: "Id", stratificationColumnName: "Label"));
    }

    [Fact]
    public void NothingIsReadUntilAHalfIsReadAndTheAssignmentIsComputedOnce()
    {
        var data = new MLNormContext(1).Data;
        var enumerations = 0;
        var split = data.TrainTestSplit(data.LoadFromEnumerable(DataTestSupport.Counted(10, () => enumerations++)), 0.5, seed: 1);

        Assert.Equal(0, enumerations);
        Assert.Equal(5, DataTestSupport.ReadColumn<int>(split.TestSet, "Id").Count);
        Assert.Equal(2, enumerations); // one pass for the assignment, one for the rows
        Assert.Equal(5, DataTestSupport.ReadColumn<int>(split.TrainSet, "Id").Count);
        Assert.Equal(3, enumerations);
    }

    [Fact]
    public void AFailedAssignmentPassIsRetriedByTheNextCursor()
    {
        var data = new MLNormContext(1).Data;
        using var folder = new TempFolder();
        var path = folder.Write("rows.csv", "1\n2\n3\n4\n");
        var split = data.TrainTestSplit(data.LoadFromTextFile<TextId>(path), 0.5, seed: 1);

        File.Delete(path);
        Assert.Throws<FileNotFoundException>(() => DataTestSupport.ReadColumn<int>(split.TestSet, "Id"));
        File.WriteAllText(path, "1\n2\n3\n4\n");
        Assert.Equal(2, DataTestSupport.ReadColumn<int>(split.TestSet, "Id").Count);
    }

    public sealed class TextId
    {
        [LoadColumn(0)]
        public int Id { get; set; }
    }

    [Fact]
    public void ASourceThatChangedSinceTheSplitIsAnError()
    {
        var data = new MLNormContext(1).Data;
        var rows = Rows(4);
        var split = data.TrainTestSplit(data.LoadFromEnumerable(rows), 0.5, seed: 1);
        DataTestSupport.ReadColumn<int>(split.TestSet, "Id");

        rows.Add(new IdRow { Id = 4 });
        Assert.Contains("split it again", Assert.Throws<InvalidOperationException>(() => DataTestSupport.ReadColumn<int>(split.TrainSet, "Id")).Message);
        rows.RemoveRange(3, 2);
        Assert.Contains("now has 3 rows, not the 4", Assert.Throws<InvalidOperationException>(() => DataTestSupport.ReadColumn<int>(split.TrainSet, "Id")).Message);
    }
}
