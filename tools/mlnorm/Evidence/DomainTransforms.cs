using MLNetNormalization.Data;
using MLNetNormalization.Training;

namespace MLNetNormalization.Tools.Mlnorm.Evidence;

/// <summary>
/// Deterministic transforms that turn one image dataset into a new visual domain with other pixel statistics, for
/// multi-domain tasks like the mode-normalization paper's ("Mode Normalization", arXiv:1810.05466, section 4.1: MNIST, CIFAR-10, SVHN and
/// Fashion-MNIST in one classifier). Only packaged data is available here, so the domains are derived: inverted
/// images (dark shapes on white) and strokes over a textured background (like SVHN's digits in scenes).
/// </summary>
internal static class DomainTransforms
{
    /// <summary>Every pixel p becomes 255 - p: white backgrounds, dark shapes.</summary>
    public static ImageDataset Invert(ImageDataset images)
    {
        var pixels = new byte[images.Pixels.Length];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = (byte)(255 - images.Pixels[i]);
        return new ImageDataset(pixels, (byte[])images.Labels.Clone(), images.Shape, images.ClassNames);
    }

    /// <summary>
    /// Each image's bright strokes drawn over a checkerboard of its own (<see cref="Checkerboard.For"/> of
    /// <paramref name="seed"/> and the image's index): the same seed gives the same images.
    /// </summary>
    public static ImageDataset OnCheckerboard(ImageDataset images, ulong seed)
    {
        var shape = images.Shape;
        var pixels = new byte[images.Pixels.Length];
        for (var n = 0; n < images.Count; n++)
        {
            var board = Checkerboard.For(seed, n);
            for (var c = 0; c < shape.Channels; c++)
                for (var y = 0; y < shape.Height; y++)
                    for (var x = 0; x < shape.Width; x++)
                    {
                        var i = ((n * shape.Channels + c) * shape.Height + y) * shape.Width + x;
                        pixels[i] = board.Composite(images.Pixels[i], x, y);
                    }
        }
        return new ImageDataset(pixels, (byte[])images.Labels.Clone(), shape, images.ClassNames);
    }
}

/// <summary>
/// A checkerboard background: squares of <see cref="Period"/> pixels, shifted by (<see cref="OffsetX"/>,
/// <see cref="OffsetY"/>), alternating between the gray levels <see cref="Dark"/> and <see cref="Light"/>.
/// </summary>
internal readonly record struct Checkerboard(int Period, int OffsetX, int OffsetY, byte Dark, byte Light)
{
    /// <summary>Periods 2 to 5 pixels, dark levels 20 to 79, light levels 110 to 169: light enough to be a texture, dark enough that white strokes stand out.</summary>
    public const int MinPeriod = 2, PeriodChoices = 4, MinDark = 20, MinLight = 110, LevelChoices = 60;

    /// <summary>The board of image <paramref name="index"/> under <paramref name="seed"/>: each parameter from its own hash of (seed, index), so no generator's sequence is involved.</summary>
    public static Checkerboard For(ulong seed, int index)
    {
        int Draw(ulong stream, int choices) => BatchAssembler.MixSeed(seed, (ulong)index, stream) % choices;
        var period = MinPeriod + Draw(1, PeriodChoices);
        return new Checkerboard(period, Draw(2, period), Draw(3, period), (byte)(MinDark + Draw(4, LevelChoices)), (byte)(MinLight + Draw(5, LevelChoices)));
    }

    /// <summary>The background level at pixel (x, y): dark where the shifted square indices sum to an even number.</summary>
    public byte Background(int x, int y) => ((x + OffsetX) / Period + (y + OffsetY) / Period) % 2 == 0 ? Dark : Light;

    /// <summary>
    /// A stroke of level s (0: none, 255: full) laid over the background b as white paint of opacity s/255:
    /// b + (255 - b)·s/255, rounded to the nearest level.
    /// </summary>
    public byte Composite(byte stroke, int x, int y)
    {
        var background = Background(x, y);
        return (byte)((background * 255 + (255 - background) * stroke + 127) / 255);
    }
}
