using MLNetNormalization.Trainers.Data;

namespace MLNetNormalization.Trainers.ImageClassification;

/// <summary>
/// Images already standardized by ExtractPixels, held in memory for the training engine. Read-only once built, so
/// reads from several threads are safe.
/// </summary>
internal sealed class InMemoryImageSource(ImageShape shape, IReadOnlyList<string> classNames, float[] pixels, int[] labels) : ILabeledImageSource
{
    public int Count => labels.Length;

    public ImageShape Shape => shape;

    public IReadOnlyList<string> ClassNames => classNames;

    public int GetLabel(int index) => labels[index];

    /// <summary>The pixels as ExtractPixels gave them; the trainer is told mean 0 and std 1, so they reach the network unchanged.</summary>
    public void ReadImage(int index, Span<float> destination) =>
        pixels.AsSpan(index * shape.ElementCount, shape.ElementCount).CopyTo(destination);

    /// <summary>The examples at <paramref name="indices"/>, in that order.</summary>
    public InMemoryImageSource Subset(IReadOnlyList<int> indices)
    {
        var size = shape.ElementCount;
        var subset = new float[indices.Count * size];
        for (var i = 0; i < indices.Count; i++) pixels.AsSpan(indices[i] * size, size).CopyTo(subset.AsSpan(i * size));
        return new InMemoryImageSource(shape, classNames, subset, [.. indices.Select(i => labels[i])]);
    }
}
