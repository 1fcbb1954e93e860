using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetNormalization.Tests.MLNetData;

/// <summary>IdxData.Load over IDX files written byte by byte here, plain and gzipped.</summary>
public class IdxDataTests
{
    private const int Side = 28;
    private static readonly string[] Names = ["zero", "one", "two", "three", "four", "five", "six", "seven"];

    private readonly MLContext ml = new(seed: 1);

    /// <summary>Five 28x28 images whose pixels run through all byte values, with labels 7, 0, 3, 3, 1.</summary>
    private static (string Images, string Labels, byte[] Pixels, byte[] LabelBytes) WriteFiles(ScratchFolder folder, bool gzip)
    {
        var pixels = MLNetDataSupport.Images(5, Names).Pixels;
        byte[] labels = [7, 0, 3, 3, 1];
        return (MLNetDataSupport.WriteIdx(folder["images-idx3-ubyte"], [5, Side, Side], pixels, gzip),
                MLNetDataSupport.WriteIdx(folder["labels-idx1-ubyte"], [5], labels, gzip),
                pixels, labels);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ColumnsAreTheTextLabelAndOneByHByWFloats(bool gzip)
    {
        using var folder = new ScratchFolder();
        var (images, labels, _, _) = WriteFiles(folder, gzip);

        var data = IdxData.Load(ml, images, labels, Names);

        Assert.Equal(["Label", "Features"], data.Schema.Select(c => c.Name));
        Assert.Equal(TextDataViewType.Instance, data.Schema["Label"].Type);
        var features = Assert.IsType<VectorDataViewType>(data.Schema["Features"].Type);
        Assert.Equal(NumberDataViewType.Single, features.ItemType);
        Assert.Equal([1, Side, Side], features.Dimensions.ToArray());
        Assert.Equal(5, data.GetRowCount());
    }

    [Theory]
    [InlineData(false, 0f, 1f)]
    [InlineData(true, 33f, 1 / 77f)]
    public void RowsAreTheRecordsInFileOrderWithPixelsOffsetThenScaled(bool gzip, float offset, float scale)
    {
        using var folder = new ScratchFolder();
        var (images, labels, pixels, _) = WriteFiles(folder, gzip);

        var data = IdxData.Load(ml, images, labels, Names, offsetImage: offset, scaleImage: scale);

        Assert.Equal(["seven", "zero", "three", "three", "one"], data.GetColumn<string>("Label"));
        var rows = data.GetColumn<float[]>("Features").ToList();
        Assert.Equal(5, rows.Count);
        for (var row = 0; row < rows.Count; row++)
        {
            var expected = pixels.AsSpan(row * Side * Side, Side * Side).ToArray().Select(p => (p - offset) * scale);
            Assert.Equal(expected, rows[row]);
        }
    }

    [Fact]
    public void WithoutClassNamesTheLabelIsItsNumberAsText()
    {
        using var folder = new ScratchFolder();
        var pixels = new byte[3 * 2 * 2];
        var data = IdxData.Load(ml, MLNetDataSupport.WriteIdx(folder["images"], [3, 2, 2], pixels, false),
                                MLNetDataSupport.WriteIdx(folder["labels"], [3], [9, 0, 255], false));

        Assert.Equal(["9", "0", "255"], data.GetColumn<string>("Label"));
    }

    [Fact]
    public void MapValueToKeyTurnsTheLabelIntoAKeyOverTheClassNames()
    {
        using var folder = new ScratchFolder();
        var (images, labels, _, _) = WriteFiles(folder, false);
        var data = IdxData.Load(ml, images, labels, Names);

        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);

        var keyType = Assert.IsType<KeyDataViewType>(keyed.Schema["Label"].Type);
        Assert.Equal(4ul, keyType.Count);
        VBuffer<ReadOnlyMemory<char>> keyValues = default;
        keyed.Schema["Label"].GetKeyValues(ref keyValues);
        Assert.Equal(["seven", "zero", "three", "one"], keyValues.DenseValues().Select(v => v.ToString()));
        Assert.Equal([1u, 2u, 3u, 3u, 4u], keyed.GetColumn<uint>("Label"));
    }

    [Fact]
    public void ACursorReadsRequestedColumnsAndRefusesOthers()
    {
        using var folder = new ScratchFolder();
        var (images, labels, _, _) = WriteFiles(folder, false);
        var data = IdxData.Load(ml, images, labels, Names);

        using var cursor = data.GetRowCursor([data.Schema["Label"]]);
        var label = cursor.GetGetter<ReadOnlyMemory<char>>(data.Schema["Label"]);
        ReadOnlyMemory<char> value = default;
        Assert.Throws<InvalidOperationException>(() => label(ref value));
        var read = new List<string>();
        while (cursor.MoveNext())
        {
            label(ref value);
            read.Add(value.ToString());
        }

        Assert.Equal(["seven", "zero", "three", "three", "one"], read);
        // Past the last row, as before the first: no position, nothing to read.
        Assert.Equal(-1, cursor.Position);
        Assert.Throws<InvalidOperationException>(() => label(ref value));
        Assert.False(cursor.IsColumnActive(data.Schema["Features"]));
        Assert.Contains("was not requested", Assert.Throws<InvalidOperationException>(() => cursor.GetGetter<VBuffer<float>>(data.Schema["Features"])).Message);
        Assert.Contains("cannot be read as Single", Assert.Throws<InvalidOperationException>(() => cursor.GetGetter<float>(data.Schema["Label"])).Message);
    }

    [Fact]
    public void ALabelWithoutANameIsNamedWithItsRecordAndFile()
    {
        using var folder = new ScratchFolder();
        var (images, labels, _, _) = WriteFiles(folder, false);

        var error = Assert.Throws<InvalidDataException>(() => IdxData.Load(ml, images, labels, Names[..5]));

        Assert.Contains($"Label 7 of record 0 in {labels} has no class name: 5 names were given (labels 0 to 4)", error.Message);
        Assert.Contains("Pass a name for every label, or no names to use the numbers.", error.Message);
    }

    [Fact]
    public void CountsThatDifferNameBothFiles()
    {
        using var folder = new ScratchFolder();
        var (images, _, _, _) = WriteFiles(folder, false);
        var labels = MLNetDataSupport.WriteIdx(folder["other-labels"], [4], [0, 1, 2, 3], false);

        var error = Assert.Throws<InvalidDataException>(() => IdxData.Load(ml, images, labels));

        Assert.Contains($"{images} holds 5 images but {labels} holds 4 labels; pass the label file that belongs to these images.", error.Message);
    }

    [Fact]
    public void FilesSwappedAreNamedByTheirShapes()
    {
        using var folder = new ScratchFolder();
        var (images, labels, _, _) = WriteFiles(folder, false);

        var error = Assert.Throws<InvalidDataException>(() => IdxData.Load(ml, labels, images));

        Assert.Contains($"{labels} holds an array of [5]; an IDX image file holds N x H x W bytes with H, W > 0. Pass an image file as imagesPath.", error.Message);
    }

    [Fact]
    public void AMissingFileIsNamed()
    {
        using var folder = new ScratchFolder();
        var (images, _, _, _) = WriteFiles(folder, false);

        var error = Assert.Throws<FileNotFoundException>(() => IdxData.Load(ml, images, folder["nowhere"]));

        Assert.Contains(folder["nowhere"], error.Message);
    }

    [Theory]
    [InlineData(0f, 0f, "scaleImage must be a finite number other than 0")]
    [InlineData(0f, float.PositiveInfinity, "scaleImage must be a finite number other than 0")]
    [InlineData(float.NaN, 1f, "offsetImage must be a finite number")]
    public void OffsetAndScaleMustBeUsable(float offset, float scale, string message)
    {
        using var folder = new ScratchFolder();
        var (images, labels, _, _) = WriteFiles(folder, false);

        Assert.Contains(message, Assert.Throws<ArgumentException>(() => IdxData.Load(ml, images, labels, offsetImage: offset, scaleImage: scale)).Message);
    }

    [Fact]
    public void ClassNamesMustBeDistinctAndNotEmpty()
    {
        using var folder = new ScratchFolder();
        var (images, labels, _, _) = WriteFiles(folder, false);

        Assert.Contains("Classes 1 and 3 are both named 'b'",
            Assert.Throws<ArgumentException>(() => IdxData.Load(ml, images, labels, ["a", "b", "c", "b", "d", "e", "f", "g"])).Message);
        Assert.Contains("Class name 2 is empty",
            Assert.Throws<ArgumentException>(() => IdxData.Load(ml, images, labels, ["a", "b", "", "c", "d", "e", "f", "g"])).Message);
    }
}
