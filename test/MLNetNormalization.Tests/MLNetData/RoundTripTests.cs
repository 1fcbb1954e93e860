using Microsoft.ML;
using Microsoft.ML.Data;
using static Microsoft.ML.Transforms.Image.ImagePixelExtractingEstimator;

namespace MLNetNormalization.Tests.MLNetData;

/// <summary>
/// Images written by ImageFolder.Save and read back through ImageFolder.Load and ImageAnalytics come back exactly, and
/// IdxData.Load's features equal ExtractPixels' for the same offset and scale.
/// </summary>
public class RoundTripTests
{
    private static readonly string[] Classes = ["T-shirt/top", "Trouser", "Bag"];

    private readonly MLContext ml = new(seed: 1);

    /// <summary>The ImageAnalytics pipeline a user writes over an image folder, giving one float per pixel.</summary>
    private IDataView ReadPixels(string folder, int height, int width, float offset = 0, float scale = 1)
    {
        var files = ImageFolder.Load(ml, folder);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", folder, "ImagePath"))
            .Append(ml.Transforms.ResizeImages("Image", width, height))
            .Append(ml.Transforms.ExtractPixels("Features", "Image", ColorBits.Red, offsetImage: offset, scaleImage: scale));
        return pipeline.Fit(files).Transform(files);
    }

    /// <summary>The dataset index of each row, from its file name.</summary>
    private static int[] Indices(IDataView data) =>
        [.. data.GetColumn<string>("ImagePath").Select(path => int.Parse(Path.GetFileNameWithoutExtension(path), System.Globalization.CultureInfo.InvariantCulture))];

    [Fact]
    public void SavedImagesComeBackAsTheirPixelsAndClasses()
    {
        using var scratch = new ScratchFolder();
        var images = MLNetDataSupport.Images(9, Classes, height: 28, width: 28);
        ImageFolder.Save(scratch["images"], images);

        var data = ReadPixels(scratch["images"], 28, 28);

        var indices = Indices(data);
        // Class folders in ordinal order (Bag, T-shirt_top, Trouser), then files in index order.
        Assert.Equal([2, 5, 8, 0, 3, 6, 1, 4, 7], indices);
        var features = data.GetColumn<float[]>("Features").ToList();
        for (var row = 0; row < indices.Length; row++)
        {
            var original = images.Pixels.AsSpan(indices[row] * 784, 784).ToArray();
            Assert.Equal(original.Select(p => (float)p), features[row]);
        }
        var labels = ml.Transforms.Conversion.MapKeyToValue("Label").Fit(data).Transform(data).GetColumn<string>("Label");
        Assert.Equal(indices.Select(i => Classes[images.GetLabel(i)].Replace('/', '_')), labels);
    }

    [Fact]
    public void IdxFeaturesEqualExtractPixelsOfTheSameImagesForTheSameOffsetAndScale()
    {
        using var scratch = new ScratchFolder();
        var images = MLNetDataSupport.Images(6, Classes, height: 28, width: 28);
        ImageFolder.Save(scratch["images"], images);
        var imagesPath = MLNetDataSupport.WriteIdx(scratch["images.idx"], [6, 28, 28], images.Pixels, gzip: true);
        var labelsPath = MLNetDataSupport.WriteIdx(scratch["labels.idx"], [6], images.Labels, gzip: true);
        const float offset = 0.2860f * 255, scale = 1 / (0.3530f * 255);

        var fromPngs = ReadPixels(scratch["images"], 28, 28, offset, scale);
        var fromIdx = IdxData.Load(ml, imagesPath, labelsPath, Classes, offset, scale).GetColumn<float[]>("Features").ToList();

        var pngFeatures = fromPngs.GetColumn<float[]>("Features").ToList();
        var indices = Indices(fromPngs);
        for (var row = 0; row < indices.Length; row++)
            Assert.Equal(pngFeatures[row].Select(BitConverter.SingleToInt32Bits), fromIdx[indices[row]].Select(BitConverter.SingleToInt32Bits));
    }
}
