namespace MLNetNormalization.Data;

/// <summary>
/// Images as float pixels in memory (the image trainer gets them from ExtractPixels, already standardized),
/// CHW row after row, with class labels. Read-only once built, so reads from several threads are safe.
/// </summary>
internal sealed class InMemoryImageSource : ILabeledImageSource
{
    private readonly float[] pixels;
    private readonly int[] labels;

    public InMemoryImageSource(ImageShape shape, IReadOnlyList<string> classNames, float[] pixels, int[] labels)
    {
        if (shape.Channels <= 0 || shape.Height <= 0 || shape.Width <= 0)
            throw new ArgumentOutOfRangeException(nameof(shape), shape, "Images need at least one channel and one pixel.");
        if (pixels.Length != (long)labels.Length * shape.ElementCount)
            throw new ArgumentException($"{labels.Length} labels need {(long)labels.Length * shape.ElementCount} values of {shape} images, got {pixels.Length}.", nameof(pixels));
        var badLabel = Array.FindIndex(labels, l => l < 0 || l >= classNames.Count);
        if (badLabel >= 0)
            throw new ArgumentException($"Label {labels[badLabel]} (example {badLabel}) is outside the {classNames.Count} classes.", nameof(labels));
        Shape = shape;
        ClassNames = classNames;
        this.pixels = pixels;
        this.labels = labels;
    }

    public int Count => labels.Length;

    public ImageShape Shape { get; }

    public IReadOnlyList<string> ClassNames { get; }

    public int GetLabel(int index) => labels[index];

    /// <summary>The pixels as given.</summary>
    public void ReadImage(int index, Span<float> destination) =>
        pixels.AsSpan(index * Shape.ElementCount, Shape.ElementCount).CopyTo(destination);

    /// <summary>The examples at <paramref name="indices"/>, in that order.</summary>
    public InMemoryImageSource Subset(IReadOnlyList<int> indices)
    {
        var size = Shape.ElementCount;
        var subset = new float[indices.Count * size];
        for (var i = 0; i < indices.Count; i++) pixels.AsSpan(indices[i] * size, size).CopyTo(subset.AsSpan(i * size));
        return new InMemoryImageSource(Shape, ClassNames, subset, [.. indices.Select(i => labels[i])]);
    }
}
