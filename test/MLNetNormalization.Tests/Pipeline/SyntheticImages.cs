using Microsoft.ML.Data;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>A row as a user's code gives it to ML.NET: a class name and the pixels of a 1 x 16 x 16 image.</summary>
public sealed class ImageRow
{
    public string Label { get; set; } = "";

    [VectorType(1, SyntheticImages.Side, SyntheticImages.Side)]
    public float[] Features { get; set; } = [];
}

/// <summary>The same images with a numeric label, for the label types other than text.</summary>
public sealed class NumericImageRow
{
    public float Label { get; set; }

    [VectorType(1, SyntheticImages.Side, SyntheticImages.Side)]
    public float[] Features { get; set; } = [];
}

/// <summary>What a prediction engine over the whole pipeline (ending in MapKeyToValue("PredictedLabel")) gives.</summary>
public sealed class ImagePrediction
{
    public float[] Score { get; set; } = [];

    public string PredictedLabel { get; set; } = "";
}

/// <summary>
/// Seeded synthetic images, standardized already (about -1 and +1 plus noise) so the pipeline needs no ExtractPixels:
/// horizontal stripes, vertical stripes or a checkerboard, each with a random phase. LeNet tells them apart within a
/// couple of short epochs, and none of them is the mirror image of another class (no flips are used anyway).
/// </summary>
public static class SyntheticImages
{
    public const int Side = 16;

    public static readonly string[] Classes = ["checker", "horizontal", "vertical"];

    /// <summary><paramref name="perClass"/> rows of each class in <paramref name="classes"/>, interleaved (a, b, c, a, b, c, ...).</summary>
    public static List<ImageRow> Rows(int perClass, int seed, IReadOnlyList<string>? classes = null, int side = Side)
    {
        classes ??= Classes;
        var random = new Random(seed);
        var rows = new List<ImageRow>();
        for (var i = 0; i < perClass; i++)
            foreach (var name in classes)
                rows.Add(new ImageRow { Label = name, Features = Pixels(name, random, side) });
        return rows;
    }

    /// <summary>The same images as <see cref="Rows"/> with each class name replaced by <paramref name="labels"/>[its index].</summary>
    public static List<NumericImageRow> NumericRows(int perClass, int seed, float[] labels) =>
        [.. Rows(perClass, seed).Select(r => new NumericImageRow { Label = labels[Array.IndexOf(Classes, r.Label)], Features = r.Features })];

    private static float[] Pixels(string name, Random random, int side)
    {
        var phase = random.Next(4);
        var pixels = new float[side * side];
        for (var y = 0; y < side; y++)
        for (var x = 0; x < side; x++)
        {
            var on = name switch
            {
                "horizontal" => (y + phase) / 2 % 2 == 0,
                "vertical" => (x + phase) / 2 % 2 == 0,
                _ => ((x + phase) / 4 + (y + phase) / 4) % 2 == 0,
            };
            pixels[y * side + x] = (on ? 1f : -1f) + (float)(0.6 * (random.NextDouble() - 0.5));
        }
        return pixels;
    }
}
