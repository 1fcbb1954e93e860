namespace MLNetNormalization.TorchBinding.Imaging;

/// <summary>The channels a decoded image gets; the values are the shim's mode codes.</summary>
public enum ImageColorMode
{
    /// <summary>One channel, [1, H, W]; a colour source is converted with 0.299 R + 0.587 G + 0.114 B (to within 1, as the decoders round).</summary>
    Grayscale = 0,

    /// <summary>Three channels in R, G, B order, [3, H, W]; a gray source is repeated in all three.</summary>
    Color = 1,
}
