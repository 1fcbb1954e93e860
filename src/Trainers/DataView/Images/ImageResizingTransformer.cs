using MLNetNormalization.Model;
using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.Imaging;

namespace MLNetNormalization.Data;

/// <summary>Adds an image column of fixed size: each image resized (aspect ratio ignored) when its row is read. Safe to use from several threads.</summary>
public sealed class ImageResizingTransformer : ITransformer, ISavableTransformer
{
    private readonly ImageInterpolation _interpolation;

    internal ImageResizingTransformer(string outputColumnName, int width, int height, string inputColumnName, ImageInterpolation interpolation)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (!Enum.IsDefined(interpolation))
            throw new ArgumentOutOfRangeException(nameof(interpolation), interpolation, $"Use one of {string.Join(", ", Enum.GetNames<ImageInterpolation>())}.");
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
        Width = width;
        Height = height;
        _interpolation = interpolation;
    }

    public string OutputColumnName { get; }

    public string InputColumnName { get; }

    public int Width { get; }

    public int Height { get; }

    internal const string SavedKindName = "ResizeImages";

    private const string OptionsEntry = "options.json";

    /// <summary>The saved form: the column names, the size and the interpolation (by name).</summary>
    private sealed record OptionsJson(string OutputColumnName, string InputColumnName, int Width, int Height, string Interpolation);

    string ISavableTransformer.KindName => SavedKindName;

    void ISavableTransformer.Save(ModelWriter writer) =>
        writer.WriteJson(OptionsEntry, new OptionsJson(OutputColumnName, InputColumnName, Width, Height, _interpolation.ToString()));

    internal static ImageResizingTransformer Load(ModelReader reader)
    {
        var options = reader.ReadJson<OptionsJson>(OptionsEntry);
        var interpolation = reader.ParseEnum<ImageInterpolation>(OptionsEntry, options.Interpolation);
        try
        {
            return new ImageResizingTransformer(options.OutputColumnName, options.Width, options.Height, options.InputColumnName, interpolation);
        }
        catch (ArgumentException e)
        {
            throw reader.Damaged(OptionsEntry, $"options ResizeImages refuses ({e.Message})");
        }
    }

    internal ImageDataViewType OutputTypeFor(ImageDataViewType input) => new(input.Channels, Height, Width);

    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var (_, type) = CheckInput(inputSchema);
        return new DataViewSchema.Builder().AddColumns(inputSchema).AddColumn(OutputColumnName, OutputTypeFor(type)).ToSchema();
    }

    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (column, type) = CheckInput(input.Schema);
        return new MappedColumnDataView<ImagePixels, ImagePixels>(input, column, OutputColumnName, OutputTypeFor(type),
            DataViewSchema.Annotations.Empty, Resize);
    }

    private ImagePixels Resize(ImagePixels image)
    {
        if (image.Height == Height && image.Width == Width) return image;
        using var scope = Torch.NewDisposeScope();
        var source = Tensor.FromSpan(image.Data, [image.Channels, image.Height, image.Width]);
        var resized = ImageCodec.Resize(source, Height, Width, _interpolation);
        return new ImagePixels(resized.ToArray<byte>(), image.Channels, Height, Width);
    }

    private (DataViewSchema.Column Column, ImageDataViewType Type) CheckInput(DataViewSchema schema)
    {
        var column = schema.Require(InputColumnName, "ResizeImages");
        return column.Type is ImageDataViewType type
            ? (column, type)
            : throw new ArgumentOutOfRangeException(nameof(schema), $"ResizeImages: the column '{column.Name}' is {column.Type}, not an image column; make one with LoadImages.");
    }
}
