using MLNetNormalization.Model;

namespace MLNetNormalization.Data;

/// <summary>
/// Adds a Vector&lt;Single, C, H, W&gt; column from an image column of known size: (sample / 255 - mean[c]) / std[c],
/// computed when the row is read. Safe to use from several threads.
/// </summary>
public sealed class PixelExtractingTransformer : ITransformer, ISavableTransformer
{
    private readonly double[] _mean;
    private readonly double[] _std;

    internal PixelExtractingTransformer(string outputColumnName, string inputColumnName, double[] mean, double[] std)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
        if (mean.Length == 0 || !mean.All(double.IsFinite))
            throw new ArgumentException($"ExtractPixels: mean needs finite values, one or one per channel; got [{string.Join(", ", mean)}].", nameof(mean));
        if (std.Length == 0 || !std.All(s => s > 0 && double.IsFinite(s)))
            throw new ArgumentException($"ExtractPixels: std needs positive finite values, one or one per channel; got [{string.Join(", ", std)}].", nameof(std));
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
        _mean = [.. mean];
        _std = [.. std];
    }

    public string OutputColumnName { get; }

    public string InputColumnName { get; }

    internal const string SavedKindName = "ExtractPixels";

    private const string OptionsEntry = "options.json";

    /// <summary>The saved form: the column names, and mean and std (JSON numbers round-trip doubles exactly).</summary>
    private sealed record OptionsJson(string OutputColumnName, string InputColumnName, double[] Mean, double[] Std);

    string ISavableTransformer.KindName => SavedKindName;

    void ISavableTransformer.Save(ModelWriter writer) => writer.WriteJson(OptionsEntry, new OptionsJson(OutputColumnName, InputColumnName, _mean, _std));

    internal static PixelExtractingTransformer Load(ModelReader reader)
    {
        var options = reader.ReadJson<OptionsJson>(OptionsEntry);
        try
        {
            return new PixelExtractingTransformer(options.OutputColumnName, options.InputColumnName, options.Mean, options.Std);
        }
        catch (ArgumentException e)
        {
            throw reader.Damaged(OptionsEntry, $"options ExtractPixels refuses ({e.Message})");
        }
    }

    /// <summary>The output type for an input column, or an error naming it: it must be an image column of known size with as many channels as mean and std have values (or one).</summary>
    internal VectorDataViewType OutputTypeFor(string columnName, DataViewType inputType)
    {
        if (inputType is not ImageDataViewType image)
            throw new ArgumentOutOfRangeException(nameof(inputType), $"ExtractPixels: the column '{columnName}' is {inputType}, not an image column; make one with LoadImages and ResizeImages.");
        if (!image.IsKnownSize)
            throw new ArgumentOutOfRangeException(nameof(inputType), $"ExtractPixels: the images of column '{columnName}' have no fixed size; resize them first with ResizeImages.");
        foreach (var (name, values) in new[] { ("mean", _mean), ("std", _std) })
            if (values.Length != 1 && values.Length != image.Channels)
                throw new ArgumentException($"ExtractPixels: {name} has {values.Length} values but the images of column '{columnName}' have {image.Channels} channel(s); give one value or one per channel.", name);
        return new VectorDataViewType(NumberDataViewType.Single, image.Channels, image.Height, image.Width);
    }

    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var column = inputSchema.Require(InputColumnName, "ExtractPixels");
        return new DataViewSchema.Builder().AddColumns(inputSchema).AddColumn(OutputColumnName, OutputTypeFor(column.Name, column.Type)).ToSchema();
    }

    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var column = input.Schema.Require(InputColumnName, "ExtractPixels");
        var type = OutputTypeFor(column.Name, column.Type);
        return new MappedColumnDataView<ImagePixels, float[]>(input, column, OutputColumnName, type, DataViewSchema.Annotations.Empty,
            image => Extract(image, type, column.Name));
    }

    private float[] Extract(ImagePixels image, VectorDataViewType type, string columnName)
    {
        var (channels, height, width) = (type.Dimensions[0], type.Dimensions[1], type.Dimensions[2]);
        if (image.Channels != channels || image.Height != height || image.Width != width)
            throw new InvalidDataException($"ExtractPixels: an image of column '{columnName}' is {image.Channels}x{image.Height}x{image.Width}, but the column declares {channels}x{height}x{width}.");
        var pixels = new float[type.Size];
        var data = image.Data;
        var plane = height * width;
        for (var c = 0; c < channels; c++)
        {
            var mean = _mean[_mean.Length == 1 ? 0 : c];
            var std = _std[_std.Length == 1 ? 0 : c];
            for (var i = c * plane; i < (c + 1) * plane; i++) pixels[i] = (float)((data[i] / 255.0 - mean) / std);
        }
        return pixels;
    }
}
