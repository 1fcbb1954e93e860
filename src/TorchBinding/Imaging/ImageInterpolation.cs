namespace MLNetNormalization.TorchBinding.Imaging;

/// <summary>How <see cref="ImageCodec.Resize"/> computes output pixels; the values are the shim's codes.</summary>
/// <remarks>
/// Nearest and bilinear map output pixel centres onto the input with half-pixel centres,
/// <c>src = (dst + 0.5) · in / out − 0.5</c>, and clamp at the borders, as PyTorch's
/// <c>interpolate(mode="bilinear", align_corners=False)</c> and <c>mode="nearest-exact"</c> do.
/// Neither smooths before shrinking, so shrinking by more than 2x aliases; use <see cref="Area"/> there.
/// </remarks>
public enum ImageInterpolation
{
    /// <summary>The input pixel whose centre is nearest (ties, where two are equally near, go to the lower index).</summary>
    Nearest = 0,

    /// <summary>Linear in both directions between the four nearest input pixels.</summary>
    Bilinear = 1,

    /// <summary>
    /// Each output pixel is the mean of the input area it covers, partly covered input pixels weighted
    /// by their share: the right choice for shrinking. Enlarging turns each input pixel into a block,
    /// and an output pixel straddling two input pixels mixes them by the same rule.
    /// </summary>
    Area = 2,
}
