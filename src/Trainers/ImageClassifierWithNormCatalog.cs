using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetNormalization;

/// <summary>
/// The ImageClassifierWithNorm trainer on ML.NET's own catalog, in ML.NET's two shapes (columns and the main options
/// as arguments, or the whole <see cref="ImageClassifierWithNormOptions"/>), and inference-alpha tuning on its
/// evaluation side.
/// </summary>
public static class ImageClassifierWithNormCatalog
{
    /// <summary>
    /// An image classifier whose normalization layers are <paramref name="normalizer"/>, trained on the key column
    /// <paramref name="labelColumnName"/> and the Vector&lt;Single, C, H, W&gt; column <paramref name="featureColumnName"/>
    /// (LoadImages, ResizeImages, ExtractPixels). Every other option takes its default (see
    /// <see cref="ImageClassifierWithNormOptions"/>); the seed comes from the MLContext.
    /// </summary>
    /// <param name="normalizer">A normalizer factory string, as <c>NormalizerFactory.ValidForms</c> lists: "bn", "mn:k=2", "hn:mean=gn8,std=en1"... Default "bn".</param>
    /// <param name="architecture">The backbone. Default ResNet20.</param>
    /// <param name="epochs">Passes over the training data. Default 10.</param>
    /// <param name="batchSize">Examples per step. Default 128.</param>
    /// <param name="learningRate">Peak SGD learning rate. Default 0.1.</param>
    /// <exception cref="ArgumentException">Thrown by Fit, before any training: an invalid normalizer string or option.</exception>
    public static ImageClassificationEstimator ImageClassifierWithNorm(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features, string normalizer = "bn",
        Architecture architecture = Architecture.ResNet20, int epochs = 10, int batchSize = 128, double learningRate = 0.1) =>
        ImageClassifierWithNorm(catalog, new ImageClassifierWithNormOptions
        {
            LabelColumnName = labelColumnName, FeatureColumnName = featureColumnName, NormalizerSpecification = normalizer,
            Architecture = architecture, Epochs = epochs, BatchSize = batchSize, LearningRate = learningRate,
        });

    /// <summary>
    /// An image classifier with these options, copied now (later changes to <paramref name="options"/> change nothing).
    /// Invalid options and columns are refused when Fit starts, before any data are read or trained on.
    /// </summary>
    public static ImageClassificationEstimator ImageClassifierWithNorm(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        ImageClassifierWithNormOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        return new ImageClassificationEstimator(catalog.GetEnvironment(), options);
    }

    /// <summary>
    /// ML.NET's multiclass metrics of <paramref name="model"/> on <paramref name="validationData"/> (prepared as for
    /// training, with the label column) for each inference alpha, in the order given, without retraining: each alpha
    /// gets a copy of the model (see <see cref="ImageClassificationTransformer.WithInferenceAlpha"/>); the model itself is
    /// not changed. Pick the best alpha and make the final model with WithInferenceAlpha.
    /// </summary>
    /// <param name="labelColumnName">The key label column. Default: the column the model was trained on.</param>
    /// <exception cref="ArgumentException">No alphas, or <paramref name="validationData"/> has no rows.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An alpha is outside [0, 1].</exception>
    public static IReadOnlyList<(double Alpha, MulticlassClassificationMetrics Metrics)> TuneInferenceAlpha(this MulticlassClassificationCatalog catalog,
        ImageClassificationTransformer model, IDataView validationData, IEnumerable<double> alphas, string? labelColumnName = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(validationData);
        ArgumentNullException.ThrowIfNull(alphas);
        var candidates = alphas.ToList();
        if (candidates.Count == 0) throw new ArgumentException("TuneInferenceAlpha needs at least one alpha to try, each in [0, 1].", nameof(alphas));
        foreach (var alpha in candidates)
            if (!(alpha is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(alphas), alpha, "Every inference alpha must be in [0, 1] (0: running statistics, 1: the example's own).");
        if (!HasRows(validationData))
            throw new ArgumentException("TuneInferenceAlpha: validationData has no rows, so no alpha can be measured; give it the validation images.", nameof(validationData));
        var results = new List<(double, MulticlassClassificationMetrics)>();
        foreach (var alpha in candidates)
        {
            using var candidate = model.WithInferenceAlpha(alpha);
            results.Add((alpha, catalog.Evaluate(candidate.Transform(validationData), labelColumnName ?? model.LabelColumnName,
                model.ScoreColumnName, model.PredictedLabelColumnName)));
        }
        return results;
    }

    private static bool HasRows(IDataView data)
    {
        if (data.GetRowCount() is { } count) return count > 0;
        using var cursor = data.GetRowCursor([]);
        return cursor.MoveNext();
    }

    /// <summary>
    /// Writes the image classifier in <paramref name="model"/> (an <see cref="ImageClassificationTransformer"/>, or a fitted
    /// pipeline that ends with one) as an ONNX model: see <see cref="ImageClassificationTransformer.ExportToOnnx(Stream)"/>.
    /// The graph starts at the classifier's features; the steps before it (loading and resizing images, extracting pixels)
    /// are the consumer's, as in training.
    /// </summary>
    /// <exception cref="ArgumentException">The model holds no ImageClassificationTransformer.</exception>
    public static void ExportImageClassifierToOnnx(this ModelOperationsCatalog catalog, ITransformer model, Stream destination)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(model);
        Classifier(model).ExportToOnnx(destination);
    }

    /// <summary>The image classifier of <paramref name="model"/>: itself, or the last one of a fitted pipeline.</summary>
    internal static ImageClassificationTransformer Classifier(ITransformer model) =>
        Classifiers(model).LastOrDefault() ?? throw new ArgumentException(
            $"The model ({model.GetType().Name}) holds no ImageClassificationTransformer; pass the model Fit returned for a pipeline with ImageClassifierWithNorm.", nameof(model));

    private static IEnumerable<ImageClassificationTransformer> Classifiers(ITransformer model) => model switch
    {
        ImageClassificationTransformer classifier => [classifier],
        IEnumerable<ITransformer> chain => chain.SelectMany(Classifiers),
        _ => [],
    };
}
