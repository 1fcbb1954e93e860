using MLNetNormalization.TorchBinding.Imaging;

namespace MLNetNormalization.Data;

/// <summary>The image transforms of the context's <c>Transforms</c> catalog: load, resize, and turn into network input.</summary>
public static class ImageTransformsExtensions
{
    /// <summary>
    /// Decodes the image file named by the text column <paramref name="inputColumnName"/> (a path relative to
    /// <paramref name="imageFolder"/>, or absolute; null or "" folder: as written) into the image column
    /// <paramref name="outputColumnName"/>, row by row as a cursor moves. An unreadable file is an error naming it;
    /// with <paramref name="skipUnreadable"/> its row is dropped instead and counted in
    /// <see cref="ImageLoadingTransformer.SkippedCount"/>.
    /// </summary>
    public static ImageLoadingEstimator LoadImages(this TransformsCatalog catalog, string outputColumnName, string? imageFolder,
        string inputColumnName, ImageColorMode color = ImageColorMode.Color, bool skipUnreadable = false)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new ImageLoadingEstimator(new ImageLoadingTransformer(outputColumnName, imageFolder, inputColumnName, color, skipUnreadable));
    }

    /// <summary>
    /// Resizes the images of <paramref name="inputColumnName"/> (default: the output's name) to
    /// <paramref name="imageWidth"/> x <paramref name="imageHeight"/>, ignoring their aspect ratio, into a new image
    /// column of known size. Use <see cref="ImageInterpolation.Area"/> to shrink by more than 2x.
    /// </summary>
    public static ImageResizingEstimator ResizeImages(this TransformsCatalog catalog, string outputColumnName, int imageWidth, int imageHeight,
        string? inputColumnName = null, ImageInterpolation interpolation = ImageInterpolation.Bilinear)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new ImageResizingEstimator(new ImageResizingTransformer(outputColumnName, imageWidth, imageHeight, inputColumnName ?? outputColumnName, interpolation));
    }

    /// <summary>
    /// Turns the images of <paramref name="inputColumnName"/> (default: the output's name), which must have a known
    /// size (use ResizeImages), into a Vector&lt;Single, C, H, W&gt; column: sample / 255, minus
    /// <paramref name="mean"/>[c], divided by <paramref name="std"/>[c]. Each takes one value or one per channel;
    /// default 0 and 1 (pixels in [0, 1]).
    /// </summary>
    public static PixelExtractingEstimator ExtractPixels(this TransformsCatalog catalog, string outputColumnName, string? inputColumnName = null,
        double[]? mean = null, double[]? std = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new PixelExtractingEstimator(new PixelExtractingTransformer(outputColumnName, inputColumnName ?? outputColumnName, mean ?? [0], std ?? [1]));
    }
}

/// <summary>
/// Estimators of transforms that learn nothing: Fit checks the input's schema and returns the transformer given
/// at creation (the same instance for every Fit).
/// </summary>
public abstract class TrivialEstimator<TTransformer> : IEstimator<TTransformer> where TTransformer : class, ITransformer
{
    private protected TrivialEstimator(TTransformer transformer) => Transformer = transformer;

    private protected TTransformer Transformer { get; }

    public TTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Transformer.GetOutputSchema(input.Schema);
        return Transformer;
    }

    public abstract SchemaShape GetOutputSchema(SchemaShape inputSchema);

    private protected static SchemaShape With(SchemaShape input, string name, DataViewType type) =>
        new([.. input.Where(c => c.Name != name), SchemaShape.Column.Of(name, type, new SchemaShape([]))]);
}

/// <summary>Made by <c>Transforms.LoadImages</c>.</summary>
public sealed class ImageLoadingEstimator : TrivialEstimator<ImageLoadingTransformer>
{
    internal ImageLoadingEstimator(ImageLoadingTransformer transformer) : base(transformer)
    {
    }

    public override SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var input = inputSchema.Require(Transformer.InputColumnName, "LoadImages");
        if (input.Kind != SchemaShape.Column.VectorKind.Scalar || input.IsKey || input.ItemType is not TextDataViewType)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"LoadImages: the column '{input.Name}' is {input}; it must be a text column of image paths.");
        return With(inputSchema, Transformer.OutputColumnName, Transformer.OutputType);
    }
}

/// <summary>Made by <c>Transforms.ResizeImages</c>.</summary>
public sealed class ImageResizingEstimator : TrivialEstimator<ImageResizingTransformer>
{
    internal ImageResizingEstimator(ImageResizingTransformer transformer) : base(transformer)
    {
    }

    public override SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var input = inputSchema.Require(Transformer.InputColumnName, "ResizeImages");
        if (input.ItemType is not ImageDataViewType image)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"ResizeImages: the column '{input.Name}' is {input}, not an image column; make one with LoadImages.");
        return With(inputSchema, Transformer.OutputColumnName, Transformer.OutputTypeFor(image));
    }
}

/// <summary>Made by <c>Transforms.ExtractPixels</c>.</summary>
public sealed class PixelExtractingEstimator : TrivialEstimator<PixelExtractingTransformer>
{
    internal PixelExtractingEstimator(PixelExtractingTransformer transformer) : base(transformer)
    {
    }

    public override SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var input = inputSchema.Require(Transformer.InputColumnName, "ExtractPixels");
        return With(inputSchema, Transformer.OutputColumnName, Transformer.OutputTypeFor(input.Name, input.ItemType));
    }
}
