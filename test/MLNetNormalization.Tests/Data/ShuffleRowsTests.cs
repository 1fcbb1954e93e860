using MLNetNormalization.Data;

namespace MLNetNormalization.Tests.DataViews;

/// <summary>ShuffleRows: a seeded permutation of whole rows.</summary>
public class ShuffleRowsTests
{
    public sealed class VectorRow
    {
        public int Id { get; set; }
        public int[] Values { get; set; } = [];
    }

    private static readonly DataOperationsCatalog Data = new MLNormContext(1).Data;

    private static IDataView Rows(int count) =>
        Data.LoadFromEnumerable(Enumerable.Range(0, count).Select(i => new IdRow { Id = i, Name = $"n{i}" }).ToList());

    [Fact]
    public void ShufflingPermutesTheRowsTheSameWayForTheSameSeed()
    {
        var shuffled = Data.ShuffleRows(Rows(20), seed: 4);

        var ids = DataTestSupport.ReadColumn<int>(shuffled, "Id");
        Assert.Equal(Enumerable.Range(0, 20), ids.Order());
        Assert.NotEqual(Enumerable.Range(0, 20), ids);
        Assert.Equal(ids, DataTestSupport.ReadColumn<int>(shuffled, "Id"));
        Assert.Equal(ids, DataTestSupport.ReadColumn<int>(Data.ShuffleRows(Rows(20), seed: 4), "Id"));
        Assert.NotEqual(ids, DataTestSupport.ReadColumn<int>(Data.ShuffleRows(Rows(20), seed: 5), "Id"));
        Assert.Equal(20, shuffled.GetRowCount());
    }

    [Fact]
    public void ColumnsOfARowStayTogether()
    {
        var shuffled = Data.ShuffleRows(Rows(10), seed: 1);

        var rows = Data.CreateEnumerable<IdRow>(shuffled, reuseRowObject: false).ToList();
        Assert.All(rows, r => Assert.Equal($"n{r.Id}", r.Name));
        Assert.Equal(DataTestSupport.ReadColumn<int>(shuffled, "Id"), rows.Select(r => r.Id));
    }

    [Fact]
    public void VectorsAreNotSharedBetweenRowsOrWithTheReader()
    {
        var rows = Enumerable.Range(0, 6).Select(i => new VectorRow { Id = i, Values = [i, i * 10] }).ToList();
        var shuffled = Data.ShuffleRows(Data.LoadFromEnumerable(rows), seed: 2);

        var read = Data.CreateEnumerable<VectorRow>(shuffled, reuseRowObject: true).Select(r => (r.Id, Values: r.Values.ToArray())).ToList();
        Assert.All(read, r => Assert.Equal([r.Id, r.Id * 10], r.Values));
        Assert.All(rows, r => Assert.Equal([r.Id, r.Id * 10], r.Values));
    }

    [Fact]
    public void ReadingARowTwiceGivesTwoIndependentVectors()
    {
        var shuffled = Data.ShuffleRows(Data.LoadFromEnumerable([new VectorRow { Id = 1, Values = [1, 10] }]), seed: 2);
        using var cursor = shuffled.GetRowCursor(shuffled.Schema);
        var get = cursor.GetGetter<int[]>(shuffled.Schema["Values"]);
        cursor.MoveNext();
        int[] first = null!, second = null!;

        get(ref first);
        first[0] = 99;
        get(ref second);
        Assert.Equal([1, 10], second);
    }

    [Fact]
    public void NothingIsReadUntilACursorMoves()
    {
        var enumerations = 0;
        var shuffled = Data.ShuffleRows(Data.LoadFromEnumerable(DataTestSupport.Counted(5, () => enumerations++)), seed: 1);
        using var cursor = shuffled.GetRowCursor(shuffled.Schema);

        Assert.Equal(0, enumerations);
        Assert.True(cursor.MoveNext());
        Assert.Equal(1, enumerations);
    }
}
