using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetNormalization.Tools.Mlnorm;

/// <summary>Which of a folder's IDX sets to read: the training set, or the test set when there is one.</summary>
internal enum DatasetRole { Train, Test }

/// <summary>
/// A dataset given by --dataset: an image folder (one subfolder of images per class; rows of ImagePath, an absolute path,
/// and Label) or a folder of IDX files (rows of Features, Vector&lt;Single, 1, H, W&gt;, and Label).
/// </summary>
internal sealed partial class Dataset
{
    /// <summary>Pixels are standardized as (pixel - 127.5) / 127.5, in [-1, 1], by ExtractPixels and by the IDX reader alike.</summary>
    public const float PixelOffset = 127.5f, PixelScale = 1 / 127.5f;

    private readonly Func<string> _fingerprint;

    private Dataset(string path, IDataView rows, bool isIdx, IReadOnlyList<string> classes, int count, string description, (int Height, int Width)? idxSize,
                    (string Images, string Labels)? idxFiles, Func<string> fingerprint)
    {
        IdxFiles = idxFiles;
        Path = path;
        Rows = rows;
        IsIdx = isIdx;
        Classes = classes;
        Count = count;
        Description = description;
        IdxSize = idxSize;
        _fingerprint = fingerprint;
    }

    public string Path { get; }

    /// <summary>ImagePath and Label (image folder), or Features and Label (IDX).</summary>
    public IDataView Rows { get; }

    public bool IsIdx { get; }

    /// <summary>The class names in order of first appearance.</summary>
    public IReadOnlyList<string> Classes { get; }

    public int Count { get; }

    public string Description { get; }

    /// <summary>Height and width of the IDX images; null for an image folder.</summary>
    public (int Height, int Width)? IdxSize { get; }

    /// <summary>The IDX files read (full paths); null for an image folder.</summary>
    public (string Images, string Labels)? IdxFiles { get; }

    /// <summary>
    /// SHA-256 (hex) of the rows in order: for an image folder each image's path below the folder, its class and its bytes;
    /// for IDX files the bytes of the image and label files. Equal fingerprints mean the same rows in the same order, so
    /// that the same split (fraction, seed) holds out the same images wherever the folder lies.
    /// </summary>
    public string Fingerprint() => _fingerprint();

    /// <summary>A row of an image folder as the saved model takes it: the image file and its class.</summary>
    public sealed class ImageRow
    {
        public string ImagePath { get; set; } = "";

        public string Label { get; set; } = "";
    }

    [GeneratedRegex(@"^(?<prefix>.+)-images-idx3-ubyte(\.gz)?$")]
    private static partial Regex IdxImagesFile();

    /// <summary>Reads --dataset; every problem is a <see cref="UsageException"/> naming the path and the fix.</summary>
    public static Dataset Load(MLContext ml, string path, DatasetRole role, IReadOnlyList<string>? classNames)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (File.Exists(full))
            throw new UsageException($"--dataset {full} is a file; pass a folder with one subfolder of images per class, or a folder of IDX files (*-images-idx3-ubyte[.gz] with *-labels-idx1-ubyte[.gz]).");
        if (!Directory.Exists(full))
            throw new UsageException($"--dataset {full} does not exist; pass a folder with one subfolder of images per class, or a folder of IDX files.");
        var idxSets = Directory.GetFiles(full)
            .Select(f => IdxImagesFile().Match(System.IO.Path.GetFileName(f)))
            .Where(m => m.Success)
            .Select(m => m.Groups["prefix"].Value)
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToList();
        var dataset = idxSets.Count > 0 ? LoadIdx(ml, full, idxSets, role, classNames) : LoadImageFolder(ml, full);
        if (dataset.Count == 0)
            throw new UsageException($"--dataset {full} holds no images; pass a folder with one subfolder of images per class, or non-empty IDX files.");
        return dataset;
    }

    /// <summary>Refuses a dataset with fewer than two classes.</summary>
    public Dataset RequireTwoClasses()
    {
        if (Classes.Count < 2)
            throw new UsageException(
                $"--dataset {Path} has one class ({Classes.FirstOrDefault()}); a classifier needs images of two or more classes: add a subfolder of images for each other class.");
        return this;
    }

    private static Dataset LoadImageFolder(MLContext ml, string folder)
    {
        IDataView listed;
        try
        {
            listed = ImageFolder.Load(ml, folder);
        }
        catch (InvalidDataException e)
        {
            throw new UsageException($"--dataset: {e.Message}");
        }
        var rows = ml.Data.CreateEnumerable<ImageRow>(listed, reuseRowObject: false)
            .Select(r => new ImageRow { ImagePath = System.IO.Path.Combine(folder, r.ImagePath), Label = r.Label })
            .ToList();
        try
        {
            foreach (var row in rows) RequireComplete(row.ImagePath);
        }
        catch (InvalidDataException e)
        {
            throw new UsageException($"--dataset: {e.Message}");
        }
        var classes = rows.Select(r => r.Label).Distinct().ToList();
        string Fingerprint()
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (var row in rows)
            {
                hash.AppendData(Encoding.UTF8.GetBytes($"{System.IO.Path.GetRelativePath(folder, row.ImagePath)}\n{row.Label}\n"));
                hash.AppendData(File.ReadAllBytes(row.ImagePath));
            }
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        return new Dataset(folder, ml.Data.LoadFromEnumerable(rows), isIdx: false, classes, rows.Count,
            $"image folder {folder}: {rows.Count} images, {classes.Count} classes", idxSize: null, idxFiles: null, Fingerprint);
    }

    /// <summary>
    /// Refuses an image file that does not decode completely: ML.NET's LoadImages would give a file cut short as a partly
    /// black image, and the model would train on it, or predict it, without a word.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a complete image; the message names it.</exception>
    public static void RequireComplete(string imagePath) =>
        ImageFeatures.DecodeComplete(File.ReadAllBytes(imagePath), () => $"the image {imagePath}", "remove or replace that file").Dispose();

    private static Dataset LoadIdx(MLContext ml, string folder, List<string> prefixes, DatasetRole role, IReadOnlyList<string>? classNames)
    {
        string[] preferred = role == DatasetRole.Train ? ["train"] : ["t10k", "test", "train"];
        var prefix = preferred.FirstOrDefault(prefixes.Contains) ?? prefixes[0];
        var images = Directory.GetFiles(folder).First(f => IdxImagesFile().Match(System.IO.Path.GetFileName(f)) is { Success: true } m && m.Groups["prefix"].Value == prefix);
        var labels = new[] { "", ".gz" }.Select(ext => System.IO.Path.Combine(folder, $"{prefix}-labels-idx1-ubyte{ext}")).FirstOrDefault(File.Exists)
            ?? throw new UsageException($"--dataset {folder} has {System.IO.Path.GetFileName(images)} but no {prefix}-labels-idx1-ubyte[.gz]; put the labels of those images beside them.");
        IDataView view;
        try
        {
            view = IdxData.Load(ml, images, labels, classNames, PixelOffset, PixelScale);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            throw new UsageException($"--dataset: {e.Message}");
        }
        var labelColumn = view.Schema[IdxData.LabelColumn];
        var featuresType = (VectorDataViewType)view.Schema[IdxData.FeaturesColumn].Type;
        var (height, width) = (featuresType.Dimensions[1], featuresType.Dimensions[2]);
        var classes = view.GetColumn<ReadOnlyMemory<char>>(labelColumn).Select(l => l.ToString()).Distinct().ToList();
        var count = (int)(view.GetRowCount() ?? 0);
        string Fingerprint()
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            hash.AppendData(File.ReadAllBytes(images));
            hash.AppendData(File.ReadAllBytes(labels));
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        return new Dataset(folder, view, isIdx: true, classes, count,
            $"IDX files {System.IO.Path.GetFileName(images)} and {System.IO.Path.GetFileName(labels)} in {folder}: {count} images of {height}x{width}, {classes.Count} classes",
            (height, width), (images, labels), Fingerprint);
    }
}
