namespace MLNetNormalization.Data;

/// <summary>Images held in memory as bytes (N x C x H x W, channel-major) with integer class labels.</summary>
public sealed class ImageDataset : ILabeledImageSource
{
    /// <summary>Grayscale images (N x H x W bytes).</summary>
    public ImageDataset(byte[] pixels, byte[] labels, int height, int width, IReadOnlyList<string> classNames)
        : this(pixels, labels, new ImageShape(1, height, width), classNames)
    {
    }

    public ImageDataset(byte[] pixels, byte[] labels, ImageShape shape, IReadOnlyList<string> classNames)
    {
        if (shape.Channels <= 0 || shape.Height <= 0 || shape.Width <= 0)
            throw new ArgumentOutOfRangeException(nameof(shape), shape, "Images need at least one channel and one pixel.");
        if (pixels.Length != (long)labels.Length * shape.ElementCount)
            throw new ArgumentException($"{labels.Length} labels need {(long)labels.Length * shape.ElementCount} pixels of {shape} images, got {pixels.Length}.", nameof(pixels));
        var badLabel = Array.FindIndex(labels, l => l >= classNames.Count);
        if (badLabel >= 0)
            throw new ArgumentException($"Label {labels[badLabel]} (example {badLabel}) is outside the {classNames.Count} classes.", nameof(labels));
        Pixels = pixels;
        Labels = labels;
        Shape = shape;
        ClassNames = classNames;
    }

    public byte[] Pixels { get; }
    public byte[] Labels { get; }
    public ImageShape Shape { get; }
    public int Height => Shape.Height;
    public int Width => Shape.Width;
    public IReadOnlyList<string> ClassNames { get; }
    public int Count => Labels.Length;

    public int GetLabel(int index) => Labels[index];

    public void ReadImage(int index, Span<float> destination)
    {
        var size = Shape.ElementCount;
        var source = Pixels.AsSpan(index * size, size);
        for (var i = 0; i < size; i++) destination[i] = source[i] / 255f;
    }

    /// <summary>The examples at <paramref name="indices"/>, as a new dataset sharing nothing with this one.</summary>
    public ImageDataset Subset(IReadOnlyList<int> indices)
    {
        var size = Shape.ElementCount;
        var pixels = new byte[indices.Count * size];
        var labels = new byte[indices.Count];
        for (var i = 0; i < indices.Count; i++)
        {
            Pixels.AsSpan(indices[i] * size, size).CopyTo(pixels.AsSpan(i * size));
            labels[i] = Labels[indices[i]];
        }
        return new ImageDataset(pixels, labels, Shape, ClassNames);
    }
}
