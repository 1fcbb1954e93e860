namespace MLNetNormalization.TorchBinding.Imaging;

/// <summary>
/// Reads, writes and resizes images through OpenCV. An image is a uint8 tensor [C, H, W] on the CPU
/// with C = 1 (gray) or C = 3 (R, G, B), rows top to bottom.
/// </summary>
/// <remarks>
/// Decoding always gives 8 bits per sample: a 16-bit PNG keeps the high byte of each sample, and an
/// alpha channel is dropped without blending (a transparent pixel shows the colour it stores). A JPEG's
/// EXIF orientation is applied, so the tensor is upright as an image viewer shows it. A JPEG without
/// its end-of-image marker is refused as cut short, where libjpeg alone would fill the missing rows gray.
/// </remarks>
public static unsafe class ImageCodec
{
    /// <summary>The JPEG quality <see cref="Encode"/> and <see cref="SaveFile"/> use unless told otherwise.</summary>
    public const int DefaultJpegQuality = 95;

    /// <summary>Decodes a PNG, JPEG or BMP image held in memory into a new uint8 [C, H, W] tensor.</summary>
    /// <param name="encoded">The bytes of the image file.</param>
    /// <param name="mode">One gray channel or three RGB channels, whatever the file stores.</param>
    /// <param name="sourceName">Where the bytes came from (a file name, a URL), used in error messages.</param>
    /// <exception cref="InvalidDataException">The bytes are empty, not a PNG/JPEG/BMP image, or damaged.</exception>
    public static Tensor Decode(ReadOnlySpan<byte> encoded, ImageColorMode mode, string? sourceName = null)
    {
        CheckDefined(mode, nameof(mode));
        var source = sourceName ?? "the image data";
        if (encoded.IsEmpty)
            throw new InvalidDataException($"{source} is empty (0 bytes), so it holds no image.");
        try
        {
            fixed (byte* data = encoded)
                return new Tensor(Native.mln_image_decode(data, encoded.Length, (int)mode));
        }
        catch (TorchException reason)
        {
            // Only the data can make decoding fail (the mode was checked above), so the failure is the file's.
            throw new InvalidDataException(
                $"{source} is not a PNG, JPEG or BMP image, or it is damaged ({reason.Message}).", reason);
        }
    }

    /// <summary>Reads and decodes a PNG, JPEG or BMP file into a new uint8 [C, H, W] tensor.</summary>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="IOException">The file could not be read (a folder, no permission, an I/O error).</exception>
    /// <exception cref="InvalidDataException">The file is empty, not a PNG/JPEG/BMP image, or damaged.</exception>
    public static Tensor DecodeFile(string path, ImageColorMode mode)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        CheckDefined(mode, nameof(mode));
        if (!File.Exists(path))
        {
            var what = Directory.Exists(path) ? "is a folder, not an image file" : "does not exist";
            throw new FileNotFoundException($"The image file {path} {what}.", path);
        }
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"The image file {path} could not be read: {e.Message}", e);
        }
        return Decode(bytes, mode, path);
    }

    /// <summary>A new uint8 [C, <paramref name="height"/>, <paramref name="width"/>] tensor: the image resized.</summary>
    /// <param name="image">A uint8 [C, H, W] image with C = 1 or 3.</param>
    /// <param name="height">The output height in pixels, at least 1.</param>
    /// <param name="width">The output width in pixels, at least 1.</param>
    /// <param name="interpolation">How output pixels are computed; see <see cref="ImageInterpolation"/>.</param>
    public static Tensor Resize(Tensor image, int height, int width, ImageInterpolation interpolation = ImageInterpolation.Bilinear)
    {
        CheckImage(image, nameof(Resize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        CheckDefined(interpolation, nameof(interpolation));
        return new Tensor(Native.mln_image_resize(image.Handle, height, width, (int)interpolation));
    }

    /// <summary>The bytes of an image file holding <paramref name="image"/> in the given format.</summary>
    /// <param name="image">A uint8 [C, H, W] image with C = 1 or 3.</param>
    /// <param name="format">PNG and BMP are lossless; JPEG is lossy.</param>
    /// <param name="jpegQuality">1 (smallest) to 100 (best); only JPEG uses it.</param>
    public static byte[] Encode(Tensor image, ImageFileFormat format, int jpegQuality = DefaultJpegQuality)
    {
        CheckImage(image, nameof(Encode));
        CheckDefined(format, nameof(format));
        if (jpegQuality is < 1 or > 100)
            throw new ArgumentOutOfRangeException(nameof(jpegQuality), jpegQuality, "The JPEG quality must be in 1..100.");
        using var encoded = new Tensor(Native.mln_image_encode(image.Handle, (int)format, jpegQuality));
        return encoded.ToArray<byte>();
    }

    /// <summary>
    /// Writes <paramref name="image"/> to <paramref name="path"/> in the format its extension names
    /// (.png, .jpg/.jpeg or .bmp, any case). The file is written beside the target and renamed over it,
    /// so a failure leaves any old file intact.
    /// </summary>
    public static void SaveFile(string path, Tensor image, int jpegQuality = DefaultJpegQuality)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = Encode(image, FormatOf(path), jpegQuality);
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);   // a failed write leaves no debris beside the target
            throw;
        }
    }

    /// <summary>The format a file name's extension names: .png, .jpg/.jpeg or .bmp, in any case.</summary>
    /// <exception cref="ArgumentException">The extension is none of these.</exception>
    public static ImageFileFormat FormatOf(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".png" => ImageFileFormat.Png,
            ".jpg" or ".jpeg" => ImageFileFormat.Jpeg,
            ".bmp" => ImageFileFormat.Bmp,
            var other => throw new ArgumentException(
                $"The image format of {path} cannot be told from its extension ('{other}'); name the file .png, .jpg, .jpeg or .bmp.",
                nameof(path)),
        };
    }

    // The shim checks all of this too; checking here first gives a .NET exception type and names the method.
    private static void CheckImage(Tensor image, string operation)
    {
        ArgumentNullException.ThrowIfNull(image);
        var shape = image.Shape;
        var size = $"[{string.Join(", ", shape)}]";
        if (shape.Length != 3)
            throw new ArgumentException($"{operation}: expected a 3D [C, H, W] image tensor, but got input of size: {size}", nameof(image));
        if (image.Type != ScalarType.UInt8)
            throw new ArgumentException(
                $"{operation}: expected a UInt8 image tensor, but got {image.Type}; scale it to 0..255, clamp, and convert with To(ScalarType.UInt8).",
                nameof(image));
        if (shape[0] is not (1 or 3))
            throw new ArgumentException(
                $"{operation}: expected 1 (gray) or 3 (RGB) channels in dimension 0, but got input of size: {size}", nameof(image));
        if (shape[1] == 0 || shape[2] == 0)
            throw new ArgumentException($"{operation}: the image has no pixels (size {size}).", nameof(image));
    }

    private static void CheckDefined<TEnum>(TEnum value, string name) where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value))
            throw new ArgumentOutOfRangeException(name, value, $"{value} is not a {typeof(TEnum).Name}.");
    }
}
