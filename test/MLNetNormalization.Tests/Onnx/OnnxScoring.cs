using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MLNetNormalization.Tests.Onnx;

/// <summary>Scores an exported model with a plain ONNX Runtime session, and compares scores with the TorchSharp network's.</summary>
internal static class OnnxScoring
{
    /// <summary>The Score [count, classes] and PredictedLabel [count] of <paramref name="images"/> [count, C, H, W].</summary>
    public static (float[] Score, long[] PredictedLabel) Run(byte[] model, float[] images, ImageShape shape)
    {
        var count = images.Length / shape.ElementCount;
        using var session = new InferenceSession(model);
        var input = new DenseTensor<float>(images, [count, shape.Channels, shape.Height, shape.Width]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExport.FeaturesName, input)]);
        var score = results.Single(r => r.Name == OnnxExport.ScoreName).AsTensor<float>().ToArray();
        var label = results.Single(r => r.Name == OnnxExport.PredictedLabelName).AsTensor<long>().ToArray();
        return (score, label);
    }

    /// <summary>The same through ML.NET: the images as a Features column of C·H·W values, scored by ml.Transforms.ApplyOnnxModel.</summary>
    public static (float[] Score, long[] PredictedLabel) RunWithMLNet(byte[] model, float[] images, ImageShape shape)
    {
        var ml = new MLContext(1);
        var size = shape.ElementCount;
        var rows = Enumerable.Range(0, images.Length / size).Select(i => new FeatureRow { Features = images.AsSpan(i * size, size).ToArray() });
        var schema = SchemaDefinition.Create(typeof(FeatureRow));
        schema[nameof(FeatureRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, size);
        var data = ml.Data.LoadFromEnumerable(rows, schema);
        using var file = new MemoryStream(model, writable: false);
        var scored = ml.Transforms.ApplyOnnxModel([OnnxExport.ScoreName, OnnxExport.PredictedLabelName], [OnnxExport.FeaturesName], file).Fit(data).Transform(data);
        return ([.. scored.GetColumn<float[]>(OnnxExport.ScoreName).SelectMany(s => s)],
                [.. scored.GetColumn<long[]>(OnnxExport.PredictedLabelName).Select(l => l.Single())]);
    }

    private sealed class FeatureRow
    {
        public float[] Features { get; set; } = [];
    }

    /// <summary>
    /// Asserts that ONNX Runtime's probabilities are within 1e-4 of TorchSharp's, and that the predicted class is
    /// TorchSharp's most probable one for at least 99.9% of the images and for every image whose two most probable
    /// classes are more than 2e-4 apart (closer ones may swap within the tolerance).
    /// </summary>
    public static void AssertAgrees(float[] expected, int classes, (float[] Score, long[] PredictedLabel) actual, string what)
    {
        Assert.Equal(expected.Length, actual.Score.Length);
        var worst = expected.Zip(actual.Score, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst <= 1e-4, $"{what}: ONNX Runtime's Score differs from TorchSharp's by up to {worst:G3} (tolerance 1e-4).");
        var images = expected.Length / classes;
        var agree = 0;
        for (var i = 0; i < images; i++)
        {
            var row = expected.AsSpan(i * classes, classes).ToArray();
            var best = Array.IndexOf(row, row.Max());
            var gap = row.Max() - row.Where((_, k) => k != best).DefaultIfEmpty(0).Max();
            if (actual.PredictedLabel[i] == best) agree++;
            else Assert.True(gap <= 2e-4, $"{what}: image {i}: ONNX predicts class {actual.PredictedLabel[i]}, TorchSharp {best} (probabilities {gap:G3} apart).");
        }
        Assert.True(agree >= 0.999 * images, $"{what}: the same class for {agree} of {images} images (at least 99.9% wanted).");
    }
}
