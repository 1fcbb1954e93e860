using MLNetNormalization.Data;

namespace MLNetNormalization.Tests.DataViews;

/// <summary>LoadImagesFromDirectory over a class-per-folder tree of tiny files (nothing decodes them here).</summary>
public class ImageDirectoryLoaderTests
{
    private static readonly DataOperationsCatalog Data = new MLNormContext(1).Data;

    private static TempFolder Tree()
    {
        var folder = new TempFolder();
        foreach (var file in new[] { "cat/b.png", "cat/a.JPG", "dog/x.bmp", "dog/notes.txt", "dog/sub/y.jpeg", "Zebra/z.png" })
            folder.Write(file, "not really an image");
        return folder;
    }

    private static string Relative(TempFolder folder, string path) => Path.GetRelativePath(folder.Path, path).Replace('\\', '/');

    [Fact]
    public void ClassFoldersAndFilesComeInOrdinalOrderWithTheFolderNameAsLabel()
    {
        using var folder = Tree();
        var data = Data.LoadImagesFromDirectory(folder.Path);

        Assert.Equal(["ImagePath", "Label"], data.Schema.Select(c => c.Name));
        Assert.All(data.Schema, c => Assert.Equal(TextDataViewType.Instance, c.Type));
        // Ordinal: upper case before lower case ("Zebra" first), "sub" before "x.bmp"; notes.txt is not an image.
        Assert.Equal(["Zebra/z.png", "cat/a.JPG", "cat/b.png", "dog/sub/y.jpeg", "dog/x.bmp"],
            DataTestSupport.ReadColumn<string>(data, "ImagePath").Select(p => Relative(folder, p)));
        Assert.Equal(["Zebra", "cat", "cat", "dog", "dog"], DataTestSupport.ReadColumn<string>(data, "Label"));
        Assert.All(DataTestSupport.ReadColumn<string>(data, "ImagePath"), p => Assert.True(Path.IsPathFullyQualified(p)));
    }

    [Fact]
    public void WithoutLabelsEveryImageUnderTheFolderIsARow()
    {
        using var folder = Tree();
        folder.Write("top.png", "");
        var data = Data.LoadImagesFromDirectory(folder.Path, useFolderNameAsLabel: false, extensions: [".png"]);

        Assert.Equal(["ImagePath"], data.Schema.Select(c => c.Name));
        Assert.Equal(["Zebra/z.png", "cat/b.png", "top.png"], DataTestSupport.ReadColumn<string>(data, "ImagePath").Select(p => Relative(folder, p)));
    }

    [Fact]
    public void AnImageOutsideAnyClassFolderIsAnErrorNamingIt()
    {
        using var folder = Tree();
        var stray = folder.Write("stray.png", "");
        var data = Data.LoadImagesFromDirectory(folder.Path);
        using var cursor = data.GetRowCursor(data.Schema);

        var error = Assert.Throws<InvalidDataException>(() => cursor.MoveNext());
        Assert.Contains(stray, error.Message);
        Assert.Contains("useFolderNameAsLabel: false", error.Message);
    }

    [Fact]
    public void BadFoldersAndExtensionsAreRejected()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-folder-" + Guid.NewGuid());
        Assert.Contains(missing, Assert.Throws<DirectoryNotFoundException>(() => Data.LoadImagesFromDirectory(missing)).Message);

        using var folder = Tree();
        Assert.Contains("'png'", Assert.Throws<ArgumentException>(() => Data.LoadImagesFromDirectory(folder.Path, extensions: ["png"])).Message);
        Assert.Throws<ArgumentException>(() => Data.LoadImagesFromDirectory(folder.Path, extensions: []));
    }

    [Fact]
    public void TheFolderIsListedByEachCursorWhenItMoves()
    {
        using var folder = Tree();
        var data = Data.LoadImagesFromDirectory(folder.Path);

        folder.Write("cow/c.png", "");
        Assert.Equal(["Zebra", "cat", "cat", "cow", "dog", "dog"], DataTestSupport.ReadColumn<string>(data, "Label"));

        Directory.Delete(folder.Path, recursive: true);
        using var cursor = data.GetRowCursor(data.Schema);
        Assert.Throws<DirectoryNotFoundException>(() => cursor.MoveNext());
    }
}
