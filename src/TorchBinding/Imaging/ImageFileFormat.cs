namespace MLNetNormalization.TorchBinding.Imaging;

/// <summary>The encodings <see cref="ImageCodec.Encode"/> writes; the values are the shim's format codes.</summary>
public enum ImageFileFormat
{
    /// <summary>Lossless PNG, 8 bits per sample, gray or RGB.</summary>
    Png = 0,

    /// <summary>Lossy baseline JPEG at a chosen quality.</summary>
    Jpeg = 1,

    /// <summary>Uncompressed BMP: 8-bit with a gray palette for one channel, 24-bit for three.</summary>
    Bmp = 2,
}
