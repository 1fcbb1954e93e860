namespace MLNetNormalization.Trainers;

/// <summary>The shape of one input image, channels first as the networks take it: [Channels, Height, Width].</summary>
public readonly record struct ImageShape(int Channels, int Height, int Width)
{
    public override string ToString() => $"{Channels}x{Height}x{Width}";
}
