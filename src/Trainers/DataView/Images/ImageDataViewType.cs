namespace MLNetNormalization.Data;

/// <summary>
/// One decoded image as an image column holds it: 8-bit samples, channel-major [C, H, W] (C = 1 gray or 3 RGB),
/// rows top to bottom. Immutable, so getters can hand out the same instance without copying.
/// </summary>
public sealed class ImagePixels
{
    private readonly byte[] _data;

    /// <param name="data">C·H·W samples, channel-major; copied, so the caller may reuse the array.</param>
    public ImagePixels(ReadOnlySpan<byte> data, int channels, int height, int width)
    {
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "An image has 1 (gray) or 3 (RGB) channels.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if (data.Length != (long)channels * height * width)
            throw new ArgumentException($"A {channels}x{height}x{width} image needs {(long)channels * height * width} samples, but {data.Length} were given.", nameof(data));
        _data = data.ToArray();
        Channels = channels;
        Height = height;
        Width = width;
    }

    public int Channels { get; }

    public int Height { get; }

    public int Width { get; }

    /// <summary>The samples, channel-major [C, H, W].</summary>
    public ReadOnlySpan<byte> Data => _data;

    public override string ToString() => $"Image {Channels}x{Height}x{Width}";
}

/// <summary>
/// Image columns (made by <c>Transforms.LoadImages</c> and <c>ResizeImages</c>): values are <see cref="ImagePixels"/>.
/// <see cref="Height"/> and <see cref="Width"/> are 0 when the images' sizes vary (as loaded), and known after a resize.
/// </summary>
public sealed class ImageDataViewType : DataViewType
{
    public ImageDataViewType(int channels, int height = 0, int width = 0) : base(typeof(ImagePixels))
    {
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "An image has 1 (gray) or 3 (RGB) channels.");
        if (height < 0 || width < 0 || (height == 0) != (width == 0))
            throw new ArgumentOutOfRangeException(nameof(height), $"Height and width must both be positive, or both 0 (sizes vary); got {height}x{width}.");
        Channels = channels;
        Height = height;
        Width = width;
    }

    public int Channels { get; }

    public int Height { get; }

    public int Width { get; }

    /// <summary>Whether every image of the column has <see cref="Height"/> x <see cref="Width"/> pixels.</summary>
    public bool IsKnownSize => Height > 0;

    public override bool Equals(DataViewType? other) =>
        other is ImageDataViewType image && image.Channels == Channels && image.Height == Height && image.Width == Width;

    public override int GetHashCode() => HashCode.Combine(Channels, Height, Width);

    public override string ToString() => IsKnownSize ? $"Image<{Channels}, {Height}, {Width}>" : $"Image<{Channels}, any size>";
}
