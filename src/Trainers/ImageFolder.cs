using Microsoft.ML;
using MLNetNormalization.Data;
using SkiaSharp;

namespace MLNetNormalization;

/// <summary>
/// An image folder: one subfolder per class, named after the class, with that class's image files directly inside
/// (<c>pets/cat/1.png</c>, <c>pets/dog/7.jpg</c>). <see cref="Load"/> lists one as an ML.NET data view for
/// <c>ml.Transforms.LoadImages</c>; <see cref="Save"/> writes one from images held in memory.
/// </summary>
public static class ImageFolder
{
    /// <summary>The name of the column holding each image's path relative to the folder.</summary>
    public const string ImagePathColumn = nameof(ImagePathRow.ImagePath);

    /// <summary>The name of the column holding each image's class (its folder's name).</summary>
    public const string LabelColumn = nameof(ImagePathRow.Label);

    /// <summary>The file extensions of the formats ImageAnalytics decodes through SkiaSharp, compared ignoring case.</summary>
    public static IReadOnlyList<string> ImageExtensions { get; } = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"];

    private static readonly HashSet<string> ImageExtensionSet = new(ImageExtensions, StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Lists the images of an image folder as a data view with two text columns: <c>ImagePath</c>, the path relative
    /// to <paramref name="folder"/> (<c>cat/1.png</c>), so that <c>ml.Transforms.LoadImages("Image", folder, "ImagePath")</c>
    /// finds the file; and <c>Label</c>, the name of the class folder. Rows come in ordinal order of class folder name,
    /// then of file name, the same on every machine. Only files directly inside a class folder whose extension is one of
    /// <see cref="ImageExtensions"/> (any case) are listed; other files, deeper folders and class folders without images
    /// contribute no rows. The folder is listed once, here, and the list is held in memory: files added later are not seen.
    /// A folder with a single class loads; a classifier needs two or more.
    /// </summary>
    /// <param name="ml">The context whose data catalog builds the view.</param>
    /// <param name="folder">The image folder; relative paths are taken from the current directory.</param>
    /// <exception cref="DirectoryNotFoundException"><paramref name="folder"/> does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// An image file lies directly in <paramref name="folder"/>, outside any class folder; <paramref name="folder"/> has no
    /// subfolders; or none of its subfolders holds an image file. Each message names the folder or file and the fix.
    /// </exception>
    public static IDataView Load(MLContext ml, string folder)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var root = Path.GetFullPath(folder);
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException(
                $"The image folder {root} does not exist; pass a folder that holds one subfolder of images per class.");
        var stray = ImageFilesIn(root).FirstOrDefault();
        if (stray is not null)
            throw new InvalidDataException(
                $"The image {stray} lies directly in the image folder {root}, outside any class folder; the class of an image is the name " +
                "of the subfolder it lies in, so move it into the subfolder of its class.");
        var classFolders = Directory.GetDirectories(root).Order(StringComparer.Ordinal).ToList();
        if (classFolders.Count == 0)
            throw new InvalidDataException(
                $"The image folder {root} has no subfolders; put the images of each class directly in a subfolder named after the class " +
                $"({Path.Combine(root, "cat", "1.png")}, {Path.Combine(root, "dog", "1.png")}).");
        var rows = new List<ImagePathRow>();
        foreach (var classFolder in classFolders)
        {
            var label = Path.GetFileName(classFolder);
            rows.AddRange(ImageFilesIn(classFolder).Select(file => new ImagePathRow
            {
                ImagePath = Path.Combine(label, Path.GetFileName(file)),
                Label = label,
            }));
        }
        if (rows.Count == 0)
            throw new InvalidDataException(
                $"The class folders of the image folder {root} ({string.Join(", ", classFolders.Take(5).Select(Path.GetFileName))}" +
                $"{(classFolders.Count > 5 ? ", ..." : "")}) hold no image files directly inside; looked for {string.Join(" ", ImageExtensions)} " +
                "(any case). Put each class's images directly in its folder, in one of those formats.");
        return ml.Data.LoadFromEnumerable(rows);
    }

    /// <summary>
    /// Writes grayscale images as PNG files into an image folder that <see cref="Load"/> reads:
    /// <c>folder/&lt;class&gt;/&lt;index&gt;.png</c>, where the index is the image's position in <paramref name="images"/>, zero-padded
    /// so that file order is index order (<c>00042.png</c> among 60,000 images). A class folder is named after the class,
    /// with characters a file name cannot hold ('/' and '\' included) replaced by '_': Fashion-MNIST's "T-shirt/top" becomes
    /// <c>T-shirt_top</c>, which is then the label <see cref="Load"/> gives. Everything is written into a temporary folder
    /// beside <paramref name="folder"/> and renamed to it at the end, so a run killed midway leaves no half-made
    /// <paramref name="folder"/> that a later run would take as complete (only a folder named <c>&lt;folder&gt;.&lt;guid&gt;.tmp</c>).
    /// </summary>
    /// <param name="folder">The folder to create; it must not exist yet. Its parent is created when missing.</param>
    /// <param name="images">One-channel images (<c>Shape.Channels</c> = 1) with their labels and class names.</param>
    /// <param name="perClass">
    /// Writes the first <paramref name="perClass"/> images of each class, in dataset order; null (the default) writes every image,
    /// and a class without images then gets no folder.
    /// </param>
    /// <returns>The number of files written.</returns>
    /// <exception cref="IOException"><paramref name="folder"/> already exists.</exception>
    /// <exception cref="ArgumentException">
    /// The images have more than one channel; two class names give the same folder name, or one gives none; a class has
    /// fewer than <paramref name="perClass"/> images.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="perClass"/> is below 1.</exception>
    public static int Save(string folder, ImageDataset images, int? perClass = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(images);
        if (perClass < 1) throw new ArgumentOutOfRangeException(nameof(perClass), perClass, "Write at least one image per class, or pass null to write them all.");
        if (images.Shape.Channels != 1)
            throw new ArgumentException(
                $"ImageFolder.Save writes grayscale PNG files, from one-channel images; these are {images.Shape} (channels x height x width).", nameof(images));
        // "images/" names the folder "images": without the trailing separator, so that its parent is not the folder itself.
        var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        if (Directory.Exists(target) || File.Exists(target))
            throw new IOException($"{target} already exists; delete it to write the images again, or pass another folder.");
        var classFolders = ClassFolderNames(images.ClassNames);
        var chosen = ChooseImages(images, perClass);

        var parent = Path.GetDirectoryName(target) ?? throw new ArgumentException($"{target} is a root folder; pass a folder to create.", nameof(folder));
        Directory.CreateDirectory(parent);
        var temporary = Path.Combine(parent, $"{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(temporary);
            var digits = (images.Count - 1).ToString(System.Globalization.CultureInfo.InvariantCulture).Length;
            var info = new SKImageInfo(images.Width, images.Height, SKColorType.Gray8, SKAlphaType.Opaque);
            var size = images.Shape.ElementCount;
            foreach (var index in chosen)
            {
                var classFolder = Path.Combine(temporary, classFolders[images.GetLabel(index)]);
                Directory.CreateDirectory(classFolder);
                using var image = SKImage.FromPixelCopy(info, images.Pixels.AsSpan(index * size, size));
                using var png = image.Encode(SKEncodedImageFormat.Png, quality: 100);
                using var file = File.Create(Path.Combine(classFolder, index.ToString($"D{digits}", System.Globalization.CultureInfo.InvariantCulture) + ".png"));
                png.SaveTo(file);
            }
            Directory.Move(temporary, target);
            return chosen.Count;
        }
        catch
        {
            if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
            throw;
        }
    }

    /// <summary>A folder name for each class, checked to be usable and distinct before anything is written.</summary>
    private static string[] ClassFolderNames(IReadOnlyList<string> classNames)
    {
        var invalid = Path.GetInvalidFileNameChars();
        var names = classNames.Select(name => string.Concat(name.Select(c => c is '/' or '\\' || invalid.Contains(c) ? '_' : c))).ToArray();
        for (var c = 0; c < names.Length; c++)
        {
            if (names[c] is "" or "." or "..")
                throw new ArgumentException($"Class {c} is named '{classNames[c]}', which cannot name a folder; give it a name with other characters.", "images");
            var first = Array.IndexOf(names, names[c]);
            if (first < c)
                throw new ArgumentException(
                    $"Classes {first} ('{classNames[first]}') and {c} ('{classNames[c]}') would both be written to the folder '{names[c]}', " +
                    "and so merge into one class when loaded; give them names that differ in more than '/', '\\' or other characters a file name cannot hold.", "images");
        }
        return names;
    }

    /// <summary>The indices of the images to write, in dataset order.</summary>
    private static List<int> ChooseImages(ImageDataset images, int? perClass)
    {
        if (perClass is not { } limit) return [.. Enumerable.Range(0, images.Count)];
        var taken = new int[images.ClassNames.Count];
        var chosen = new List<int>();
        for (var i = 0; i < images.Count && chosen.Count < limit * taken.Length; i++)
        {
            var label = images.GetLabel(i);
            if (taken[label] == limit) continue;
            taken[label]++;
            chosen.Add(i);
        }
        var shortClass = Array.FindIndex(taken, n => n < limit);
        if (shortClass >= 0)
            throw new ArgumentException(
                $"perClass {limit}: the dataset has only {taken[shortClass]} images of class {shortClass} ('{images.ClassNames[shortClass]}'); ask for at most that many.",
                nameof(perClass));
        return chosen;
    }

    private static IEnumerable<string> ImageFilesIn(string folder) =>
        Directory.GetFiles(folder).Where(file => ImageExtensionSet.Contains(Path.GetExtension(file))).Order(StringComparer.Ordinal);

    /// <summary>A row of <see cref="Load"/>'s view; ML.NET takes the column names and types from the properties.</summary>
    private sealed class ImagePathRow
    {
        public string ImagePath { get; init; } = "";
        public string Label { get; init; } = "";
    }
}
