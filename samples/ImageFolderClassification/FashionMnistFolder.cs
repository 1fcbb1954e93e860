using MLNetNormalization.Trainers.Data;
using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.Imaging;

namespace MLNetNormalization.Samples.ImageFolderClassification;

/// <summary>Makes an image folder (one PNG subfolder per class) from the Fashion-MNIST training set.</summary>
internal static class FashionMnistFolder
{
    /// <summary>
    /// Writes the first <paramref name="perClass"/> training images of each class into
    /// <paramref name="folder"/>/&lt;class&gt;/&lt;index&gt;.png. Everything is written into a temporary folder beside
    /// the target and renamed at the end, so a run killed midway leaves no half-made folder that a later run would
    /// take as complete.
    /// </summary>
    public static int Write(string folder, string fashionMnistDirectory, int perClass)
    {
        var train = FashionMnist.LoadTrain(fashionMnistDirectory);
        var full = Path.GetFullPath(folder);
        var parent = Path.GetDirectoryName(full) ?? throw new ArgumentException($"--images-dir '{folder}' is a root folder; name a folder to create.");
        Directory.CreateDirectory(parent);
        var temporary = Path.Combine(parent, $"{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var written = new int[train.ClassNames.Count];
            var pixels = train.Height * train.Width;
            for (var i = 0; i < train.Count && written.Any(n => n < perClass); i++)
            {
                var label = train.GetLabel(i);
                if (written[label] == perClass) continue;
                var classFolder = Path.Combine(temporary, FolderName(train.ClassNames[label]));
                Directory.CreateDirectory(classFolder);
                using var image = Tensor.FromSpan<byte>(train.Pixels.AsSpan(i * pixels, pixels), [1, train.Height, train.Width]);
                // The index in the training set names the file, so an image can be traced back to its source.
                ImageCodec.SaveFile(Path.Combine(classFolder, $"{i:D5}.png"), image);
                written[label]++;
            }
            var shortClass = Array.FindIndex(written, n => n < perClass);
            if (shortClass >= 0)
                throw new ArgumentException(
                    $"--per-class {perClass}: the Fashion-MNIST training set has only {written[shortClass]} images of '{train.ClassNames[shortClass]}'; ask for at most that many.");
            Directory.Move(temporary, full);
            return written.Sum();
        }
        catch
        {
            if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
            throw;
        }
    }

    /// <summary>A class name as a folder name: characters a path cannot hold ("T-shirt/top"'s slash) become '_'.</summary>
    public static string FolderName(string className)
    {
        var invalid = Path.GetInvalidFileNameChars();
        return string.Concat(className.Select(c => c == '/' || c == '\\' || invalid.Contains(c) ? '_' : c));
    }
}
