using MLNetNormalization.Data;

namespace MLNetNormalization.Tests.DataViews;

/// <summary>LoadFromTextFile against hand-written files.</summary>
public class TextFileLoaderTests
{
    public sealed class ImageRow
    {
        [LoadColumn(0)]
        public string ImagePath { get; set; } = "";

        [LoadColumn(1)]
        public string Label { get; set; } = "";
    }

    public sealed class Measurement
    {
        [LoadColumn(2)]
        public float Value { get; set; }

        [LoadColumn(0)]
        public int Id { get; set; }

        [LoadColumn(1), ColumnName("Ok")]
        public bool Valid { get; set; }

        [LoadColumn(3)]
        public string Note { get; set; } = "";
    }

    public sealed class Unmarked
    {
        [LoadColumn(0)]
        public int Id { get; set; }

        public string Name { get; set; } = "";
    }

    public sealed class WithVector
    {
        [LoadColumn(0)]
        public float[] Values { get; set; } = [];
    }

    private static readonly DataOperationsCatalog Data = new MLNormContext(1).Data;

    [Fact]
    public void ACsvWithHeaderAndQuotesIsParsedFieldByField()
    {
        using var folder = new TempFolder();
        var path = folder.Write("data.csv",
            "Id,Ok,Value,Note\n" +
            "1,true,2.5,plain\n" +
            "\n" +
            "2,0,,\"with, comma\"\n" +
            "3,FALSE,-1e3,\"say \"\"hi\"\"\"\n");
        var data = Data.LoadFromTextFile<Measurement>(path, hasHeader: true);

        Assert.Equal(["Value", "Id", "Ok", "Note"], data.Schema.Select(c => c.Name));
        Assert.Null(data.GetRowCount());
        Assert.Equal([1, 2, 3], DataTestSupport.ReadColumn<int>(data, "Id"));
        Assert.Equal([true, false, false], DataTestSupport.ReadColumn<bool>(data, "Ok"));
        Assert.Equal([2.5f, float.NaN, -1000f], DataTestSupport.ReadColumn<float>(data, "Value"));
        Assert.Equal(["plain", "with, comma", "say \"hi\""], DataTestSupport.ReadColumn<string>(data, "Note"));
    }

    [Fact]
    public void OtherSeparatorsAndLiteralQuotesWork()
    {
        using var folder = new TempFolder();
        var path = folder.Write("images.tsv", "a/\"x\".png\tcat\nb.png\t\"dog\"\n");

        var data = Data.LoadFromTextFile<ImageRow>(path, separatorChar: '\t', allowQuoting: false);
        Assert.Equal(["a/\"x\".png", "b.png"], DataTestSupport.ReadColumn<string>(data, "ImagePath"));
        Assert.Equal(["cat", "\"dog\""], DataTestSupport.ReadColumn<string>(data, "Label"));

        var quoted = Data.LoadFromTextFile<ImageRow>(path, separatorChar: '\t');
        Assert.Equal(["cat", "dog"], DataTestSupport.ReadColumn<string>(quoted, "Label"));
    }

    [Fact]
    public void AMissingFileIsAnErrorNamingIt()
    {
        var path = Path.Combine(Path.GetTempPath(), "no-such-file-" + Guid.NewGuid() + ".csv");

        var error = Assert.Throws<FileNotFoundException>(() => Data.LoadFromTextFile<ImageRow>(path));
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void AnUnparsableValueNamesTheFileLineAndColumn()
    {
        using var folder = new TempFolder();
        var path = folder.Write("bad.csv", "Id,Ok,Value,Note\n1,true,2,x\n2,true,two,y\n");
        var data = Data.LoadFromTextFile<Measurement>(path, hasHeader: true);

        var error = Assert.Throws<InvalidDataException>(() => DataTestSupport.ReadColumn<float>(data, "Value"));
        Assert.Contains($"{path}:3", error.Message);
        Assert.Contains("'Value'", error.Message);
        Assert.Contains("'two'", error.Message);
        Assert.Contains("Single", error.Message);
        // Only active columns are parsed: the Id column alone reads fine.
        Assert.Equal([1, 2], DataTestSupport.ReadColumn<int>(data, "Id"));
    }

    [Theory]
    [InlineData("1,maybe,2,x", "'Ok'")]
    [InlineData(",true,2,x", "'Id'")]
    [InlineData("99999999999,true,2,x", "'Id'")]
    public void IntegersAndBooleansHaveNoMissingValue(string line, string column)
    {
        using var folder = new TempFolder();
        var path = folder.Write("bad.csv", line + "\n");
        var data = Data.LoadFromTextFile<Measurement>(path);
        using var cursor = data.GetRowCursor(data.Schema);

        var error = Assert.Throws<InvalidDataException>(() => cursor.MoveNext());
        Assert.Contains($"{path}:1", error.Message);
        Assert.Contains(column, error.Message);
    }

    [Fact]
    public void ALineWithTooFewFieldsNamesTheLineAndColumn()
    {
        using var folder = new TempFolder();
        var path = folder.Write("short.csv", "1,true,2,x\n2,true\n");
        var data = Data.LoadFromTextFile<Measurement>(path);

        var error = Assert.Throws<InvalidDataException>(() => DataTestSupport.ReadColumn<string>(data, "Note"));
        Assert.Contains($"{path}:2", error.Message);
        Assert.Contains("'Note'", error.Message);
        Assert.Contains("only 2 field(s)", error.Message);
    }

    [Theory]
    [InlineData("1,true,2,\"open", "not closed")]
    [InlineData("1,true,2,\"closed\"x", "after its closing quote")]
    public void BadQuotingNamesTheLine(string line, string reason)
    {
        using var folder = new TempFolder();
        var path = folder.Write("quotes.csv", line + "\n");
        var data = Data.LoadFromTextFile<Measurement>(path);

        var error = Assert.Throws<InvalidDataException>(() => DataTestSupport.ReadColumn<int>(data, "Id"));
        Assert.Contains($"{path}:1", error.Message);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void RowClassesNeedLoadColumnOnEveryMemberAndScalarMembers()
    {
        using var folder = new TempFolder();
        var path = folder.Write("a.csv", "1,x\n");

        Assert.Contains("Unmarked.Name", Assert.Throws<ArgumentException>(() => Data.LoadFromTextFile<Unmarked>(path)).Message);
        Assert.Contains("WithVector.Values", Assert.Throws<NotSupportedException>(() => Data.LoadFromTextFile<WithVector>(path)).Message);
        Assert.Throws<ArgumentException>(() => Data.LoadFromTextFile<ImageRow>(path, separatorChar: '"'));
    }

    [Fact]
    public void TheFileIsReadOnlyWhenACursorMovesAndAfreshByEachCursor()
    {
        using var folder = new TempFolder();
        var path = folder.Write("images.csv", "a.png,cat\n");
        var data = Data.LoadFromTextFile<ImageRow>(path);

        File.WriteAllText(path, "b.png,dog\nc.png,cow\n");
        Assert.Equal(["dog", "cow"], DataTestSupport.ReadColumn<string>(data, "Label"));

        File.Delete(path);
        using var cursor = data.GetRowCursor(data.Schema);
        var error = Assert.Throws<FileNotFoundException>(() => cursor.MoveNext());
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void ACursorReadsTheLinesInOrder()
    {
        using var folder = new TempFolder();
        var path = folder.Write("images.csv", "a.png,cat\nb.png,dog\nc.png,cow\n");
        var data = Data.LoadFromTextFile<ImageRow>(path);
        using var cursor = data.GetRowCursor(data.Schema);
        var get = cursor.GetGetter<string>(data.Schema["ImagePath"]);
        var seen = new List<(long, string)>();
        var value = "";

        while (cursor.MoveNext())
        {
            get(ref value);
            seen.Add((cursor.Position, value));
        }
        Assert.Equal([(0L, "a.png"), (1L, "b.png"), (2L, "c.png")], seen);
    }
}
