using System.Globalization;
using Microsoft.ML;
using MLNetNormalization.Data;

namespace MLNetNormalization;

/// <summary>Loads IDX image and label files (the MNIST / Fashion-MNIST format) as an ML.NET data view.</summary>
public static class IdxData
{
    /// <summary>The name of the column holding each image's class, as text.</summary>
    public const string LabelColumn = "Label";

    /// <summary>The name of the column holding each image's pixels, as <c>Vector&lt;Single, 1, H, W&gt;</c>.</summary>
    public const string FeaturesColumn = "Features";

    /// <summary>
    /// Reads an IDX image file (N x H x W unsigned bytes) and its label file (N unsigned bytes), gzipped or not, into a data
    /// view of N rows in file order with two columns:
    /// <list type="bullet">
    /// <item><c>Label</c> (text): <c>classNames[label]</c>, or the label's number as text ("7") when
    /// <paramref name="classNames"/> is null; <c>ml.Transforms.Conversion.MapValueToKey("Label")</c> turns it into a key.</item>
    /// <item><c>Features</c> (<c>Vector&lt;Single, 1, H, W&gt;</c>, the shape of <c>ExtractPixels</c>' output for one color, so
    /// 1 x 28 x 28 for MNIST): each value is <c>(pixel - offsetImage) * scaleImage</c>, computed in single precision as
    /// ImageAnalytics' <c>ExtractPixels</c> computes it, so that <c>offsetImage</c> = mean x 255 and <c>scaleImage</c> =
    /// 1 / (std x 255) standardize the images exactly as the same arguments of <c>ExtractPixels</c> would.</item>
    /// </list>
    /// Both files are read here, whole, and their bytes held in memory (Fashion-MNIST's training set: 47 MB); the floats
    /// are computed as a cursor reads each row. The view's row count is known; it does not shuffle its cursors (use
    /// <c>ml.Data.ShuffleRows</c>).
    /// </summary>
    /// <param name="ml">The context the view is made for, as with ML.NET's own loaders.</param>
    /// <param name="imagesPath">The IDX image file (for example <c>train-images-idx3-ubyte.gz</c>).</param>
    /// <param name="labelsPath">The IDX label file with one label per image (<c>train-labels-idx1-ubyte.gz</c>).</param>
    /// <param name="classNames">The class names, indexed by label, distinct and not empty; null (the default) names each class by its number.</param>
    /// <param name="offsetImage">Subtracted from each pixel value (0 to 255) first; default 0.</param>
    /// <param name="scaleImage">Multiplies the result; default 1, so features are the pixel values 0 to 255.</param>
    /// <exception cref="FileNotFoundException">One of the files does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// A file is not an unsigned-byte IDX file, is truncated, or is a damaged gzip file; the image file is not N x H x W
    /// or the label file not N; their counts differ; a label has no class name.
    /// </exception>
    /// <exception cref="ArgumentException">Class names repeat or are empty; <paramref name="offsetImage"/> is not finite, or
    /// <paramref name="scaleImage"/> is zero or not finite.</exception>
    public static IDataView Load(MLContext ml, string imagesPath, string labelsPath, IReadOnlyList<string>? classNames = null,
                                 float offsetImage = 0, float scaleImage = 1)
    {
        ArgumentNullException.ThrowIfNull(ml);
        if (!float.IsFinite(offsetImage))
            throw new ArgumentException($"offsetImage must be a finite number, got {offsetImage}.", nameof(offsetImage));
        if (!float.IsFinite(scaleImage) || scaleImage == 0)
            throw new ArgumentException($"scaleImage must be a finite number other than 0 (which would make every feature 0), got {scaleImage}.", nameof(scaleImage));
        if (classNames is not null) CheckClassNames(classNames);

        var images = IdxFile.Read(imagesPath);
        var labels = IdxFile.Read(labelsPath);
        if (images.Dimensions.Length != 3 || images.Dimensions[1] == 0 || images.Dimensions[2] == 0)
            throw new InvalidDataException(
                $"{imagesPath} holds an array of [{string.Join(", ", images.Dimensions)}]; an IDX image file holds N x H x W bytes with H, W > 0. Pass an image file as imagesPath.");
        var (count, height, width) = (images.Dimensions[0], images.Dimensions[1], images.Dimensions[2]);
        if (labels.Dimensions.Length != 1)
            throw new InvalidDataException(
                $"{labelsPath} holds an array of [{string.Join(", ", labels.Dimensions)}]; an IDX label file holds N bytes. Pass a label file as labelsPath.");
        if (labels.Dimensions[0] != count)
            throw new InvalidDataException(
                $"{imagesPath} holds {count} images but {labelsPath} holds {labels.Dimensions[0]} labels; pass the label file that belongs to these images.");

        var labelTexts = LabelTexts(classNames, labels.Values, labelsPath);
        return new IdxImageDataView(images.Values, labels.Values, labelTexts, height, width, offsetImage, scaleImage);
    }

    private static void CheckClassNames(IReadOnlyList<string> classNames)
    {
        for (var c = 0; c < classNames.Count; c++)
        {
            if (string.IsNullOrEmpty(classNames[c]))
                throw new ArgumentException($"Class name {c} is empty; ML.NET takes an empty label as missing. Give every class a name.", nameof(classNames));
            for (var other = 0; other < c; other++)
                if (classNames[other] == classNames[c])
                    throw new ArgumentException(
                        $"Classes {other} and {c} are both named '{classNames[c]}', so their labels could not be told apart; give every class its own name.", nameof(classNames));
        }
    }

    /// <summary>The text of each possible label byte, checked against the labels the file holds.</summary>
    private static ReadOnlyMemory<char>[] LabelTexts(IReadOnlyList<string>? classNames, byte[] labels, string labelsPath)
    {
        if (classNames is null)
            return [.. Enumerable.Range(0, 256).Select(label => label.ToString(CultureInfo.InvariantCulture).AsMemory())];
        var unnamed = Array.FindIndex(labels, label => label >= classNames.Count);
        if (unnamed >= 0)
            throw new InvalidDataException(
                $"Label {labels[unnamed]} of record {unnamed} in {labelsPath} has no class name: {classNames.Count} names were given (labels 0 to {classNames.Count - 1}). " +
                "Pass a name for every label, or no names to use the numbers.");
        return [.. classNames.Select(name => name.AsMemory())];
    }
}
