using System.IO.Compression;
using MLNetNormalization.Data;

namespace MLNetNormalization.Tests.DataViews;

/// <summary>LoadFromIdxFiles against IDX files written byte by byte here, plain and gzipped.</summary>
public class IdxLoaderTests
{
    public sealed class Digit
    {
        public byte[] Image { get; set; } = [];
        public byte Label { get; set; }
    }

    private static readonly DataOperationsCatalog Data = new MLNormContext(1).Data;

    /// <summary>Three 2x2 images: pixel values 10·n + i, labels 7, 0, 255.</summary>
    private static readonly byte[] Images = [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23];

    private static readonly byte[] Labels = [0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 255];

    private static string Write(TempFolder folder, string name, byte[] bytes, bool gzip)
    {
        var path = Path.Combine(folder.Path, name);
        using var file = File.Create(path);
        using Stream stream = gzip ? new GZipStream(file, CompressionLevel.Fastest) : file;
        stream.Write(bytes);
        return path;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ImagesAndLabelsAreReadRecordByRecord(bool gzip)
    {
        using var folder = new TempFolder();
        var data = Data.LoadFromIdxFiles(Write(folder, "images", Images, gzip), Write(folder, "labels", Labels, gzip));

        Assert.Equal(new VectorDataViewType(NumberDataViewType.Byte, 2, 2), data.Schema["Image"].Type);
        Assert.Equal(NumberDataViewType.Byte, data.Schema["Label"].Type);
        Assert.Equal(3, data.GetRowCount());
        var digits = Data.CreateEnumerable<Digit>(data, reuseRowObject: false).ToList();
        Assert.Equal([[0, 1, 2, 3], [10, 11, 12, 13], [20, 21, 22, 23]], digits.Select(d => d.Image));
        Assert.Equal([7, 0, 255], digits.Select(d => d.Label));
        // Reading the labels alone still moves past the images.
        Assert.Equal([(byte)7, (byte)0, (byte)255], DataTestSupport.ReadColumn<byte>(data, "Label"));
    }

    [Fact]
    public void CountsThatDoNotMatchNameBothFiles()
    {
        using var folder = new TempFolder();
        var images = Write(folder, "images", Images, false);
        var labels = Write(folder, "labels", [0, 0, 8, 1, 0, 0, 0, 2, 1, 2], false);

        var error = Assert.Throws<InvalidDataException>(() => Data.LoadFromIdxFiles(images, labels));
        Assert.Contains($"{images} holds 3 images but {labels} holds 2 labels", error.Message);
    }

    [Fact]
    public void WrongRanksBadHeadersAndMissingFilesAreErrorsNamingTheFile()
    {
        using var folder = new TempFolder();
        var images = Write(folder, "images", Images, false);
        var labels = Write(folder, "labels", Labels, false);

        Assert.Contains($"{labels} holds an array of [3]", Assert.Throws<InvalidDataException>(() => Data.LoadFromIdxFiles(labels, labels)).Message);
        Assert.Contains($"{images} holds an array of [3, 2, 2]", Assert.Throws<InvalidDataException>(() => Data.LoadFromIdxFiles(images, images)).Message);
        var notIdx = Write(folder, "text", "hello"u8.ToArray(), false);
        Assert.Contains($"{notIdx} is not an IDX file", Assert.Throws<InvalidDataException>(() => Data.LoadFromIdxFiles(notIdx, labels)).Message);
        var floats = Write(folder, "floats", [0, 0, 0x0d, 1, 0, 0, 0, 0], false);
        Assert.Contains("0x0d", Assert.Throws<InvalidDataException>(() => Data.LoadFromIdxFiles(images, floats)).Message);
        var missing = Path.Combine(folder.Path, "missing");
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => Data.LoadFromIdxFiles(images, missing)).Message);
    }

    [Fact]
    public void ATruncatedFileLoadsButItsCursorNamesTheRecordItEndsIn()
    {
        using var folder = new TempFolder();
        var images = Write(folder, "images.gz", Images[..^2], gzip: true);
        var data = Data.LoadFromIdxFiles(images, Write(folder, "labels", Labels, false));
        using var cursor = data.GetRowCursor([]);

        Assert.True(cursor.MoveNext());
        Assert.True(cursor.MoveNext());
        var error = Assert.Throws<InvalidDataException>(() => cursor.MoveNext());
        Assert.Contains($"{images} is truncated: it ends inside image 2", error.Message);
    }

    [Fact]
    public void TheFilesAreOpenedOnlyWhenACursorMoves()
    {
        using var folder = new TempFolder();
        var images = Write(folder, "images", Images, false);
        var labels = Write(folder, "labels", Labels, false);
        var data = Data.LoadFromIdxFiles(images, labels);

        // Same header, new pixels: the cursor sees them.
        var changed = (byte[])Images.Clone();
        changed[16] = 99;
        File.WriteAllBytes(images, changed);
        Assert.Equal(99, DataTestSupport.ReadColumn<byte[]>(data, "Image")[0][0]);

        File.Delete(labels);
        using var cursor = data.GetRowCursor([]);
        Assert.Contains(labels, Assert.Throws<FileNotFoundException>(() => cursor.MoveNext()).Message);
    }

    [Fact]
    public void AFileWithADifferentCountAfterLoadingIsAnError()
    {
        using var folder = new TempFolder();
        var images = Write(folder, "images", Images, false);
        var labels = Write(folder, "labels", Labels, false);
        var data = Data.LoadFromIdxFiles(images, labels);
        Write(folder, "images", [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4], false);
        Write(folder, "labels", [0, 0, 8, 1, 0, 0, 0, 1, 5], false);
        using var cursor = data.GetRowCursor([]);

        Assert.Contains("now holds 1 images, not the 3", Assert.Throws<InvalidDataException>(() => cursor.MoveNext()).Message);
    }
}
