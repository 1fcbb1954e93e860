namespace MLNetNormalization;

/// <summary>The shape of one input image, channels first as the networks take it: [Channels, Height, Width].</summary>
public readonly record struct ImageShape(int Channels, int Height, int Width)
{
    /// <summary>Values per image, C·H·W.</summary>
    public int ElementCount => Channels * Height * Width;

    public override string ToString() => $"{Channels}x{Height}x{Width}";
}
