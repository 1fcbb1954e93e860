using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetNormalization.Tests.MLNetData;

/// <summary>ImageFolder.Load over folders of files made here: its columns, its order, which files it lists, its errors.</summary>
public class ImageFolderLoadTests
{
    private readonly MLContext ml = new(seed: 1);

    [Fact]
    public void ColumnsAreTheTextPathRelativeToTheFolderAndTheClassFolderName()
    {
        using var folder = new ScratchFolder();
        folder.Touch("cat/1.png");
        folder.Touch("dog/2.jpg");

        var data = ImageFolder.Load(ml, folder.Path);

        Assert.Equal(["ImagePath", "Label"], data.Schema.Select(c => c.Name));
        Assert.All(data.Schema, column => Assert.Equal(TextDataViewType.Instance, column.Type));
        Assert.Equal([Path.Combine("cat", "1.png"), Path.Combine("dog", "2.jpg")], data.GetColumn<string>("ImagePath"));
        Assert.Equal(["cat", "dog"], data.GetColumn<string>("Label"));
        Assert.All(data.GetColumn<string>("ImagePath"), path => Assert.True(File.Exists(Path.Combine(folder.Path, path))));
    }

    [Fact]
    public void RowsComeInOrdinalOrderOfClassThenFileName()
    {
        using var folder = new ScratchFolder();
        // Created out of order; ordinal order puts upper case before lower case and "10" before "9".
        foreach (var file in new[] { "b/9.png", "b/10.png", "a/z.png", "B/x.png", "a/A.png" }) folder.Touch(file);

        var data = ImageFolder.Load(ml, folder.Path);

        Assert.Equal(["B/x.png", "a/A.png", "a/z.png", "b/10.png", "b/9.png"], data.GetColumn<string>("ImagePath").Select(p => p.Replace('\\', '/')));
        Assert.Equal(["B", "a", "a", "b", "b"], data.GetColumn<string>("Label"));
    }

    [Fact]
    public void ListsTheImageFormatsInAnyCaseDirectlyInsideClassFoldersOnly()
    {
        using var folder = new ScratchFolder();
        string[] images = ["c/1.png", "c/2.JPG", "c/3.jpeg", "c/4.Bmp", "c/5.gif", "c/6.WEBP"];
        foreach (var file in images) folder.Touch(file);
        // Not images, or too deep: a class folder's own subfolders are not read.
        foreach (var file in new[] { "c/notes.txt", "c/7.tiff", "c/png", "c/deeper/8.png" }) folder.Touch(file);
        Directory.CreateDirectory(folder["empty"]);

        var data = ImageFolder.Load(ml, folder.Path);

        Assert.Equal(images, data.GetColumn<string>("ImagePath").Select(p => p.Replace('\\', '/')));
        Assert.Equal(images.Length, data.GetRowCount());
    }

    [Fact]
    public void OneClassLoads()
    {
        using var folder = new ScratchFolder();
        folder.Touch("only/1.png");

        Assert.Equal(["only"], ImageFolder.Load(ml, folder.Path).GetColumn<string>("Label"));
    }

    [Fact]
    public void AMissingFolderIsNamedWithWhatItShouldHold()
    {
        using var folder = new ScratchFolder();
        var missing = folder["missing"];

        var error = Assert.Throws<DirectoryNotFoundException>(() => ImageFolder.Load(ml, missing));

        Assert.Contains($"The image folder {missing} does not exist", error.Message);
        Assert.Contains("pass a folder that holds one subfolder of images per class", error.Message);
    }

    [Fact]
    public void AFolderWithoutSubfoldersIsNamedWithTheLayoutToUse()
    {
        using var folder = new ScratchFolder();
        folder.Touch("readme.txt");

        var error = Assert.Throws<InvalidDataException>(() => ImageFolder.Load(ml, folder.Path));

        Assert.Contains($"The image folder {folder.Path} has no subfolders", error.Message);
        Assert.Contains("put the images of each class directly in a subfolder named after the class", error.Message);
    }

    [Fact]
    public void ClassFoldersWithoutImagesAreNamedWithTheFileTypesLookedFor()
    {
        using var folder = new ScratchFolder();
        folder.Touch("cat/1.tiff");
        folder.Touch("dog/deeper/2.png");

        var error = Assert.Throws<InvalidDataException>(() => ImageFolder.Load(ml, folder.Path));

        Assert.Contains($"The class folders of the image folder {folder.Path} (cat, dog) hold no image files directly inside", error.Message);
        Assert.Contains("looked for .png .jpg .jpeg .bmp .gif .webp (any case)", error.Message);
        Assert.Contains("Put each class's images directly in its folder", error.Message);
    }

    [Fact]
    public void AnImageInTheRootIsNamedWithWhereToMoveIt()
    {
        using var folder = new ScratchFolder();
        folder.Touch("cat/1.png");
        var stray = folder.Touch("2.PNG");

        var error = Assert.Throws<InvalidDataException>(() => ImageFolder.Load(ml, folder.Path));

        Assert.Contains($"The image {stray} lies directly in the image folder {folder.Path}, outside any class folder", error.Message);
        Assert.Contains("move it into the subfolder of its class", error.Message);
    }
}
