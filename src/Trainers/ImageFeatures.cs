using System.Runtime.InteropServices;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetNormalization;
using SkiaSharp;

namespace MLNetNormalization;

/// <summary>
/// What the classifier's features column holds, and how one row of it becomes the network's input, planar
/// C x H x W floats: either pixels already extracted (<see cref="Pixels"/>, a Vector&lt;Single&gt; of known size, as
/// ExtractPixels makes it) or encoded image files (<see cref="EncodedImages"/>, a Vector&lt;Byte&gt;, as
/// LoadRawImageBytes makes it), decoded here.
/// </summary>
internal enum FeatureKind
{
    /// <summary>Vector&lt;Single&gt; of C·H·W values, used as they are.</summary>
    Pixels,

    /// <summary>
    /// Vector&lt;Byte&gt; holding a PNG, JPEG, BMP, GIF or WebP file, decoded with SkiaSharp (ML.NET ImageAnalytics' own
    /// decoder), resized to W x H when it has another size (as ResizeImages does, bilinear), and given as pixel / 255
    /// in [0, 1]: 3 channels R, G, B, or 1 channel of gray (the luma of a colour image). Other channel counts are refused by the options.
    /// </summary>
    EncodedImages,
}

/// <summary>Reads the current row's image into a span of <see cref="ImageShape.ElementCount"/> floats.</summary>
internal delegate void ImageReader(Span<float> destination);

/// <summary>Reads the current row's image into its record (<see cref="ImageFeatures.RecordSize"/> bytes).</summary>
internal delegate void RecordReader(Span<byte> record);

internal static class ImageFeatures
{
    /// <summary>
    /// The size of an image's record: the form it is kept in between reading a row and training on it. For
    /// <see cref="FeatureKind.Pixels"/> its C·H·W float32 values; for <see cref="FeatureKind.EncodedImages"/> the decoded
    /// and resized image's R, G, B bytes (H·W·3, whatever the channels asked for), which <see cref="RecordToImage"/>
    /// turns into exactly the floats a direct decoding gives.
    /// </summary>
    public static int RecordSize(FeatureKind kind, ImageShape shape) =>
        kind == FeatureKind.Pixels ? checked(shape.ElementCount * sizeof(float)) : checked(shape.Height * shape.Width * 3);

    /// <summary>
    /// A reader of <paramref name="column"/> on <paramref name="row"/>; <paramref name="what"/> names the data in errors.
    /// The reader throws <see cref="InvalidDataException"/> naming the row for pixels of another count or not finite, and
    /// for bytes that are no complete image.
    /// </summary>
    public static ImageReader CreateReader(DataViewRow row, DataViewSchema.Column column, FeatureKind kind, ImageShape shape, string what)
    {
        var readRecord = CreateRecordReader(row, column, kind, shape, what);
        if (kind == FeatureKind.Pixels) return destination => readRecord(MemoryMarshal.AsBytes(destination));
        var record = new byte[RecordSize(kind, shape)];
        return destination =>
        {
            readRecord(record);
            RecordToImage(kind, shape, record, destination);
        };
    }

    /// <summary>As <see cref="CreateReader"/>, giving each row's record rather than its floats.</summary>
    public static RecordReader CreateRecordReader(DataViewRow row, DataViewSchema.Column column, FeatureKind kind, ImageShape shape, string what)
    {
        if (kind == FeatureKind.Pixels)
        {
            var getPixels = row.GetGetter<VBuffer<float>>(column);
            VBuffer<float> pixels = default;
            return record =>
            {
                var destination = MemoryMarshal.Cast<byte, float>(record);
                getPixels(ref pixels);
                if (pixels.Length != destination.Length)
                    throw new InvalidDataException(
                        $"ImageClassifierWithNorm: row {row.Position + 1} of the {what} has {pixels.Length} values in '{column.Name}' where {shape} images have {destination.Length}.");
                pixels.CopyTo(destination);
                // Found here, with the row: in the network a NaN or an infinity only shows as a layer's non-finite statistics.
                var at = destination.IndexOfAnyExceptInRange(float.MinValue, float.MaxValue);
                if (at >= 0)
                {
                    var plane = shape.Height * shape.Width;
                    throw new InvalidDataException(
                        $"ImageClassifierWithNorm: row {row.Position + 1} of the {what} has {destination[at].ToString(System.Globalization.CultureInfo.InvariantCulture)} in '{column.Name}' at value {at} " +
                        $"(channel {at / plane}, y {at % plane / shape.Width}, x {at % shape.Width}); the network can neither train on nor score a value that is " +
                        "not finite: fix that image's pixels, or filter the row out before the trainer.");
                }
            };
        }
        var getBytes = row.GetGetter<VBuffer<byte>>(column);
        VBuffer<byte> bytes = default;
        return record =>
        {
            getBytes(ref bytes);
            // LoadRawImageBytes gives dense vectors: their values are the file, read in place.
            DecodeToRecord(bytes.IsDense ? bytes.GetValues() : bytes.DenseValues().ToArray(), shape, record,
                () => $"row {row.Position + 1} of the {what}, column '{column.Name}'");
        };
    }

    /// <summary>
    /// Decodes <paramref name="encoded"/> completely, at its own size; a file cut short is an error here, where ML.NET's
    /// LoadImages would give a partly black image.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not a complete image SkiaSharp can decode: the message names <paramref name="where"/> and ends with <paramref name="fix"/>.</exception>
    public static SKBitmap DecodeComplete(ReadOnlySpan<byte> encoded, Func<string> where, string fix)
    {
        // SKBitmap.Decode throws rather than return null for bytes it has no codec for, and returns a black image for a
        // file cut short: ask for the codec, then decode with it and accept only a complete image.
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data);
        var decoded = codec is null ? null : new SKBitmap(codec.Info.WithColorType(SKColorType.Rgba8888).WithAlphaType(SKAlphaType.Unpremul));
        var result = decoded is null ? SKCodecResult.InvalidInput : codec!.GetPixels(decoded.Info, decoded.GetPixels());
        if (result == SKCodecResult.Success) return decoded!;
        decoded?.Dispose();
        throw new InvalidDataException(
            $"ImageClassifierWithNorm: {where()} holds {encoded.Length} bytes that are not a complete image SkiaSharp can decode (PNG, JPEG, BMP, GIF, WebP; " +
            $"the decoder says {result}); {fix}.");
    }

    /// <summary>Decodes one encoded image into planar floats of <paramref name="shape"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not an image SkiaSharp can decode; the message names <paramref name="where"/>.</exception>
    public static void Decode(ReadOnlySpan<byte> encoded, ImageShape shape, Span<float> destination, Func<string> where)
    {
        var record = new byte[RecordSize(FeatureKind.EncodedImages, shape)];
        DecodeToRecord(encoded, shape, record, where);
        RecordToImage(FeatureKind.EncodedImages, shape, record, destination);
    }

    /// <summary>Decodes one encoded image, resized to <paramref name="shape"/>'s height and width, into its record: R, G, B bytes per pixel.</summary>
    private static void DecodeToRecord(ReadOnlySpan<byte> encoded, ImageShape shape, Span<byte> record, Func<string> where)
    {
        using var decoded = DecodeComplete(encoded, where, "remove or replace that file, or filter such rows out before the trainer");
        using var sized = new SKBitmap(new SKImageInfo(shape.Width, shape.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using (var canvas = new SKCanvas(sized))
        using (var image = SKImage.FromBitmap(decoded))
        {
            canvas.Clear(SKColors.Black);
            // Bilinear within the nearest mipmap level: the pixels SkiaSharp 2.88's FilterQuality.Medium gave, so models
            // trained before SkiaSharp 3 see the same inputs.
            canvas.DrawImage(image, new SKRect(0, 0, shape.Width, shape.Height), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Nearest));
        }
        var pixels = sized.GetPixelSpan();
        for (var i = 0; i < shape.Height * shape.Width; i++)
        {
            record[3 * i] = pixels[4 * i];
            record[3 * i + 1] = pixels[4 * i + 1];
            record[3 * i + 2] = pixels[4 * i + 2];
        }
    }

    /// <summary>An image's planar floats from its record (<see cref="RecordSize"/>).</summary>
    public static void RecordToImage(FeatureKind kind, ImageShape shape, ReadOnlySpan<byte> record, Span<float> destination)
    {
        if (kind == FeatureKind.Pixels)
        {
            MemoryMarshal.Cast<byte, float>(record).CopyTo(destination);
            return;
        }
        var plane = shape.Height * shape.Width;
        if (shape.Channels == 1)
        {
            for (var i = 0; i < plane; i++)
            {
                int r = record[3 * i], g = record[3 * i + 1], b = record[3 * i + 2];
                // A gray image's value exactly, as ExtractPixels' red plane gives it; Rec. 601 luma for colour.
                destination[i] = (r == g && g == b ? r : 0.299f * r + 0.587f * g + 0.114f * b) / 255f;
            }
            return;
        }
        for (var c = 0; c < 3; c++)
            for (var i = 0; i < plane; i++)
                destination[c * plane + i] = record[3 * i + c] / 255f;
    }

    /// <summary>The kind of a features column's type, or null when it is neither.</summary>
    public static FeatureKind? KindOf(DataViewType type) => type switch
    {
        VectorDataViewType { ItemType: var item, IsKnownSize: true } when item == NumberDataViewType.Single => FeatureKind.Pixels,
        VectorDataViewType { ItemType: var item } when item == NumberDataViewType.Byte => FeatureKind.EncodedImages,
        _ => null,
    };
}
