namespace MLNetNormalization.Trainers;

/// <summary>The shape of one image: channels (1 grayscale, 3 color), height and width in pixels.</summary>
public readonly record struct ImageShape(int Channels, int Height, int Width)
{
    /// <summary>Values per image, C·H·W.</summary>
    public int ElementCount => Channels * Height * Width;

    public override string ToString() => $"{Channels}x{Height}x{Width}";
}
