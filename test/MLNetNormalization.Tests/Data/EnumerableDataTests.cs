using MLNetNormalization.Data;

namespace MLNetNormalization.Tests.DataViews;

/// <summary>LoadFromEnumerable and CreateEnumerable.</summary>
public class EnumerableDataTests
{
    public sealed class Example
    {
        public float Weight { get; set; }

        [ColumnName("Kind")]
        public string Species = "";

        public bool Tame { get; set; }

        public double[] Features { get; set; } = [];

        public long Count;

        public uint Code { get; set; }

        public byte Small { get; set; }

        /// <summary>Get-only: not a column.</summary>
        public int Derived => 42;
    }

    public sealed class WithDate
    {
        public DateTime When { get; set; }
    }

    public sealed record Pair
    {
        public int Id { get; init; }
        public string Name { get; init; } = "";
    }

    public sealed class IdAsText
    {
        public string Id { get; set; } = "";
    }

    public sealed class Missing
    {
        public int Id { get; set; }
        public float Height { get; set; }
    }

    private static readonly DataOperationsCatalog Data = new MLNormContext(1).Data;

    [Fact]
    public void TheSchemaHasOneColumnPerReadWriteFieldThenProperty()
    {
        var data = Data.LoadFromEnumerable(new List<Example>());

        Assert.Equal(["Kind", "Count", "Weight", "Tame", "Features", "Code", "Small"], data.Schema.Select(c => c.Name));
        Assert.Equal<DataViewType>(
            [TextDataViewType.Instance, NumberDataViewType.Int64, NumberDataViewType.Single, BooleanDataViewType.Instance,
             new VectorDataViewType(NumberDataViewType.Double), NumberDataViewType.UInt32, NumberDataViewType.Byte],
            data.Schema.Select(c => c.Type));
        Assert.Equal(0, data.GetRowCount());
    }

    [Fact]
    public void RowsAreReadInOrderWithNullTextAsEmptyAndVectorsCopied()
    {
        double[] features = [1.5, -2];
        var rows = new[]
        {
            new Example { Weight = 2.5f, Species = "cat", Tame = true, Features = features, Count = 7, Code = 3, Small = 9 },
            new Example { Weight = -1, Species = null!, Features = null!, Count = long.MaxValue },
        };
        var data = Data.LoadFromEnumerable(rows);

        Assert.Equal([2.5f, -1f], DataTestSupport.ReadColumn<float>(data, "Weight"));
        Assert.Equal(["cat", ""], DataTestSupport.ReadColumn<string>(data, "Kind"));
        Assert.Equal([true, false], DataTestSupport.ReadColumn<bool>(data, "Tame"));
        Assert.Equal([7L, long.MaxValue], DataTestSupport.ReadColumn<long>(data, "Count"));
        Assert.Equal([3u, 0u], DataTestSupport.ReadColumn<uint>(data, "Code"));
        Assert.Equal([(byte)9, (byte)0], DataTestSupport.ReadColumn<byte>(data, "Small"));
        var vectors = DataTestSupport.ReadColumn<double[]>(data, "Features");
        Assert.Equal([1.5, -2], vectors[0]);
        Assert.Empty(vectors[1]);
        vectors[0][0] = 99;
        Assert.Equal(1.5, features[0]);
    }

    [Fact]
    public void AVectorGetterReusesTheCallersArrayWhenItFits()
    {
        var data = Data.LoadFromEnumerable([new Example { Features = [1, 2] }, new Example { Features = [3, 4] }, new Example { Features = [5] }]);
        using var cursor = data.GetRowCursor([data.Schema["Features"]]);
        var get = cursor.GetGetter<double[]>(data.Schema["Features"]);
        double[] buffer = null!;

        cursor.MoveNext();
        get(ref buffer);
        var first = buffer;
        cursor.MoveNext();
        get(ref buffer);
        Assert.Same(first, buffer);
        Assert.Equal([3.0, 4.0], buffer);
        cursor.MoveNext();
        get(ref buffer);
        Assert.NotSame(first, buffer);
        Assert.Equal([5.0], buffer);
    }

    [Fact]
    public void AnUnsupportedMemberTypeNamesTheMemberAndListsTheSupportedTypes()
    {
        var error = Assert.Throws<NotSupportedException>(() => Data.LoadFromEnumerable(new List<WithDate>()));

        Assert.Contains("WithDate.When", error.Message);
        Assert.Contains("DateTime", error.Message);
        Assert.Contains("Single, Double, Byte, Int32, Int64, UInt32, String, Boolean", error.Message);
    }

    [Fact]
    public void NothingIsEnumeratedUntilACursorMovesAndEachCursorEnumeratesAgain()
    {
        var enumerations = 0;
        var data = Data.LoadFromEnumerable(DataTestSupport.Counted(3, () => enumerations++));

        Assert.Null(data.GetRowCount());
        using (var cursor = data.GetRowCursor(data.Schema))
        {
            Assert.Equal(0, enumerations);
            Assert.True(cursor.MoveNext());
            Assert.Equal(1, enumerations);
        }
        Assert.Equal([0, 1, 2], DataTestSupport.ReadColumn<int>(data, "Id"));
        Assert.Equal(2, enumerations);
    }

    [Fact]
    public void ANullRowIsAnErrorNamingItsPosition()
    {
        var data = Data.LoadFromEnumerable(new List<IdRow> { new(), null! });
        using var cursor = data.GetRowCursor([]);
        cursor.MoveNext();

        Assert.Contains("Row 1", Assert.Throws<InvalidDataException>(() => cursor.MoveNext()).Message);
    }

    [Fact]
    public void CreateEnumerableFillsNewOrReusedObjects()
    {
        var data = Data.LoadFromEnumerable([new Pair { Id = 1, Name = "a" }, new Pair { Id = 2, Name = "b" }]);

        var fresh = Data.CreateEnumerable<Pair>(data, reuseRowObject: false).ToList();
        Assert.Equal([new Pair { Id = 1, Name = "a" }, new Pair { Id = 2, Name = "b" }], fresh);
        Assert.NotSame(fresh[0], fresh[1]);

        var reused = new List<Pair>();
        foreach (var row in Data.CreateEnumerable<Pair>(data, reuseRowObject: true))
        {
            reused.Add(row);
            Assert.Same(reused[0], row);
        }
        Assert.Equal(2, reused.Count);
        Assert.Equal(2, reused[0].Id);
    }

    [Fact]
    public void CreateEnumerableIntoAMismatchedMemberNamesTheColumnAndBothTypes()
    {
        var data = Data.LoadFromEnumerable([new IdRow { Id = 1 }]);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Data.CreateEnumerable<IdAsText>(data, reuseRowObject: false));
        Assert.Contains("'Id'", error.Message);
        Assert.Contains("Int32", error.Message);
        Assert.Contains("IdAsText.Id is a String", error.Message);
    }

    [Fact]
    public void CreateEnumerableWithAColumnMissingNamesItAndListsTheColumns()
    {
        var data = Data.LoadFromEnumerable([new IdRow { Id = 1 }]);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Data.CreateEnumerable<Missing>(data, reuseRowObject: false));
        Assert.Contains("'Height'", error.Message);
        Assert.Contains("Missing.Height", error.Message);
        Assert.Contains("Id (Int32), Name (String)", error.Message);
    }

    [Fact]
    public void NullArgumentsAreRejected()
    {
        Assert.Throws<ArgumentNullException>(() => Data.LoadFromEnumerable<IdRow>(null!));
        Assert.Throws<ArgumentNullException>(() => Data.CreateEnumerable<IdRow>(null!, false));
    }
}
