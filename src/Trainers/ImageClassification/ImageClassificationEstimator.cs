using MLNetNormalization.Data;
using MLNetNormalization.Normalization;
using MLNetNormalization.Trainers.Backbones;
using MLNetNormalization.Trainers.Data;
using MLNetNormalization.Trainers.Training;
using MLNetNormalization.TorchBinding;

namespace MLNetNormalization.Trainers.ImageClassification;

/// <summary>
/// The ImageClassifierWithNorm trainer (made by <c>MulticlassClassification.Trainers.ImageClassifierWithNorm</c>):
/// Fit trains a backbone with the chosen normalizer on a key label column and a Vector&lt;Single, C, H, W&gt;
/// features column, and returns the trained model.
/// </summary>
public sealed class ImageClassificationEstimator : IEstimator<ImageClassificationTransformer>
{
    private readonly ImageClassifierWithNormOptions _options;
    private readonly int _contextSeed;

    /// <param name="options">Copied now: later changes to the caller's instance change nothing.</param>
    /// <param name="contextSeed">Used when the options give no seed.</param>
    internal ImageClassificationEstimator(ImageClassifierWithNormOptions options, int contextSeed)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Clone();
        _contextSeed = contextSeed;
    }

    /// <summary>
    /// Checks the columns and every option before anything is read, reads the data once into memory, trains, and
    /// returns the model. The pixels are used as ExtractPixels made them (the engine adds no standardization of its
    /// own), so the crop padding of augmentation pads with 0, which is the data's mean when ExtractPixels was given
    /// the data's mean and std.
    /// </summary>
    public ImageClassificationTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var options = _options;
        var (label, features, shape) = CheckColumns(input.Schema, "training data");
        var classes = checked((int)((KeyDataViewType)label.Type).Count);
        // The options first: an invalid combination is reported as such, whatever the validation data look like.
        var resolved = options.Resolve(shape, classes, _contextSeed);
        (DataViewSchema.Column Label, DataViewSchema.Column Features)? validationColumns = null;
        if (options.ValidationSet is { } validationView)
        {
            var (validationLabel, validationFeatures, validationShape) = CheckColumns(validationView.Schema, "ValidationSet");
            validationColumns = (validationLabel, validationFeatures);
            if (!validationLabel.Type.Equals(label.Type) || validationShape != shape)
                throw new ArgumentException(
                    $"ImageClassifierWithNorm: the ValidationSet's '{validationLabel.Name}' ({validationLabel.Type}) and images ({validationShape}) differ from the training data's ({label.Type}, {shape}); " +
                    "prepare both with the same fitted transforms.", nameof(input));
        }
        var classNames = ClassNameReader.Read(label.Annotations) ?? [.. Enumerable.Range(1, classes).Select(k => k.ToString(System.Globalization.CultureInfo.InvariantCulture))];

        var all = Read(input, label, features, shape, classNames);
        InMemoryImageSource train = all;
        InMemoryImageSource? validation = null;
        if (options.ValidationSet is { } set && validationColumns is { } columns)
        {
            validation = Read(set, columns.Label, columns.Features, shape, classNames);
        }
        else if (options.ValidationFraction > 0)
        {
            (train, validation) = Split(all, options.ValidationFraction, resolved.Training.Seed);
        }

        // The data are standardized already: mean 0 and std 1 leave them as they are.
        var training = resolved.Training with { PixelMean = [0.0], PixelStd = [1.0] };
        Torch.ManualSeed(training.Seed);
        var model = Backbone.Create(resolved.Architecture, shape, classes, resolved.Plan).To(resolved.Device);
        try
        {
            new ClassifierTrainer(training).Train(model, train, validation, options.MetricsCallback);
            model.Eval();
            if (resolved.InferenceAlpha is { } alpha) NormalizationModel.SetInferenceAlpha(model, alpha);
            return new ImageClassificationTransformer(model, resolved.Architecture, resolved.Plan, shape, classes, label.Annotations,
                new(options.LabelColumnName, options.FeatureColumnName, options.ScoreColumnName, options.PredictedLabelColumnName),
                resolved.InferenceAlpha, resolved.Device);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var label = inputSchema.Require(_options.LabelColumnName, "ImageClassifierWithNorm (label)");
        if (!label.IsKey)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"ImageClassifierWithNorm: the label column '{label.Name}' is {label}, not a key column; make one with Transforms.Conversion.MapValueToKey.");
        var features = inputSchema.Require(_options.FeatureColumnName, "ImageClassifierWithNorm (features)");
        if (features.Kind != SchemaShape.Column.VectorKind.Vector || !features.ItemType.Equals(NumberDataViewType.Single))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"ImageClassifierWithNorm: the features column '{features.Name}' is {features}; it must be a Vector<Single, C, H, W> made by Transforms.ExtractPixels.");
        var score = new SchemaShape.Column(_options.ScoreColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, isKey: false);
        var predicted = new SchemaShape.Column(_options.PredictedLabelColumnName, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.UInt32, isKey: true, label.Annotations);
        return new SchemaShape([.. inputSchema.Where(c => c.Name != score.Name && c.Name != predicted.Name), score, predicted]);
    }

    private (DataViewSchema.Column Label, DataViewSchema.Column Features, ImageShape Shape) CheckColumns(DataViewSchema schema, string what)
    {
        var label = schema.Require(_options.LabelColumnName, $"ImageClassifierWithNorm (label, {what})");
        if (label.Type is not KeyDataViewType)
            throw new ArgumentOutOfRangeException(nameof(schema),
                $"ImageClassifierWithNorm: the label column '{label.Name}' of the {what} is {label.Type}, not a key column; make one with Transforms.Conversion.MapValueToKey(\"{label.Name}\").");
        var features = schema.Require(_options.FeatureColumnName, $"ImageClassifierWithNorm (features, {what})");
        if (features.Type is not VectorDataViewType { ItemType: var item, Dimensions: { Length: 3 } dims } || !item.Equals(NumberDataViewType.Single) || dims.Any(d => d == 0))
            throw new ArgumentOutOfRangeException(nameof(schema),
                $"ImageClassifierWithNorm: the features column '{features.Name}' of the {what} is {features.Type}; it must be a Vector<Single, C, H, W> of known size, made by Transforms.ResizeImages then Transforms.ExtractPixels.");
        return (label, features, new ImageShape(dims[0], dims[1], dims[2]));
    }

    // One pass over the label and features into memory; key 0 (a label MapValueToKey did not learn) is refused, naming the row.
    private static InMemoryImageSource Read(IDataView data, DataViewSchema.Column label, DataViewSchema.Column features, ImageShape shape, IReadOnlyList<string> classNames)
    {
        var size = shape.ElementCount;
        var pixels = new List<float>();
        var labels = new List<int>();
        using var cursor = data.GetRowCursor([label, features]);
        var getLabel = cursor.GetGetter<uint>(label);
        var getFeatures = cursor.GetGetter<float[]>(features);
        uint key = 0;
        var row = new float[size];
        while (cursor.MoveNext())
        {
            getLabel(ref key);
            if (key == 0 || key > classNames.Count)
                throw new InvalidDataException(
                    $"ImageClassifierWithNorm: row {cursor.Position + 1} has label key {key} in column '{label.Name}' (a missing value: MapValueToKey was not fitted on it); " +
                    "fit MapValueToKey on data with every class, or filter out rows without a label.");
            getFeatures(ref row);
            labels.Add((int)key - 1);
            pixels.AddRange(row);
        }
        return new InMemoryImageSource(shape, classNames, [.. pixels], [.. labels]);
    }

    // A seeded shuffle, then the first fraction of it; at least one example on each side.
    private static (InMemoryImageSource Train, InMemoryImageSource Validation) Split(InMemoryImageSource all, double fraction, ulong seed)
    {
        var order = Enumerable.Range(0, all.Count).ToArray();
        new Random(unchecked((int)seed)).Shuffle(order);
        var held = (int)Math.Round(all.Count * fraction);
        if (held < 1 || held >= all.Count)
            throw new ArgumentException($"ImageClassifierWithNormOptions.ValidationFraction: {fraction} of {all.Count} examples leaves no validation or no training example; use more data or another fraction.");
        return (all.Subset(order[held..]), all.Subset(order[..held]));
    }
}
