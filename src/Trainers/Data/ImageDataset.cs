using MLNetNormalization.TorchBinding;

namespace MLNetNormalization.Trainers.Data;

/// <summary>Grayscale images (N x H x W bytes) with integer class labels, held in memory.</summary>
public sealed class ImageDataset
{
    public ImageDataset(byte[] pixels, byte[] labels, int height, int width, IReadOnlyList<string> classNames)
    {
        if (pixels.Length != (long)labels.Length * height * width)
            throw new ArgumentException($"{labels.Length} labels need {labels.Length * height * width} pixels of {height}x{width} images, got {pixels.Length}.", nameof(pixels));
        var badLabel = Array.FindIndex(labels, l => l >= classNames.Count);
        if (badLabel >= 0)
            throw new ArgumentException($"Label {labels[badLabel]} (example {badLabel}) is outside the {classNames.Count} classes.", nameof(labels));
        Pixels = pixels;
        Labels = labels;
        Height = height;
        Width = width;
        ClassNames = classNames;
    }

    public byte[] Pixels { get; }
    public byte[] Labels { get; }
    public int Height { get; }
    public int Width { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public int Count => Labels.Length;

    /// <summary>Images as float32 [N, 1, H, W], scaled to [0, 1] then standardized, and labels as Int64 [N].</summary>
    public (Tensor Images, Tensor Labels) ToTensors(double mean, double std)
    {
        var scaled = new float[Pixels.Length];
        for (var i = 0; i < scaled.Length; i++) scaled[i] = (float)((Pixels[i] / 255.0 - mean) / std);
        var labels = Array.ConvertAll(Labels, l => (long)l);
        return (Tensor.FromArray(scaled, Count, 1, Height, Width), Tensor.FromArray(labels, Count));
    }
}
