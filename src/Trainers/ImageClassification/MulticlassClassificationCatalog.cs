using MLNetNormalization.Data;
using MLNetNormalization.Trainers.ImageClassification;
using MLNetNormalization.Trainers.Training;

namespace MLNetNormalization;

/// <summary>The context's <c>MulticlassClassification</c> catalog: trainers, evaluation, and inference tuning.</summary>
public sealed class MulticlassClassificationCatalog
{
    internal MulticlassClassificationCatalog(Func<int> nextSeed) => Trainers = new MulticlassClassificationTrainers(nextSeed);

    public MulticlassClassificationTrainers Trainers { get; }

    /// <summary>
    /// The accuracy and log loss (see <see cref="ValidationMetrics"/>) of the probabilities in <paramref name="scoreColumnName"/>
    /// (a Vector&lt;Single, K&gt; such as a model's Score) against the key column <paramref name="labelColumnName"/> with
    /// K keys. A row whose label is key 0 (missing) is an error naming the row.
    /// </summary>
    public ValidationMetrics Evaluate(IDataView data, string labelColumnName = "Label", string scoreColumnName = "Score")
    {
        ArgumentNullException.ThrowIfNull(data);
        var label = data.Schema.Require(labelColumnName, "Evaluate (label)");
        if (label.Type is not KeyDataViewType key)
            throw new ArgumentOutOfRangeException(nameof(labelColumnName),
                $"Evaluate: the label column '{label.Name}' is {label.Type}, not a key column; make one with Transforms.Conversion.MapValueToKey.");
        var score = data.Schema.Require(scoreColumnName, "Evaluate (score)");
        var classes = checked((int)key.Count);
        if (!score.Type.Equals(new VectorDataViewType(NumberDataViewType.Single, classes)))
            throw new ArgumentOutOfRangeException(nameof(scoreColumnName),
                $"Evaluate: the score column '{score.Name}' is {score.Type}, but the label '{label.Name}' has {classes} classes, so it must be Vector<Single, {classes}> of probabilities (a model's Score).");
        var metrics = new ValidationMetricsAccumulator(classes);
        using var cursor = data.GetRowCursor([label, score]);
        var getLabel = cursor.GetGetter<uint>(label);
        var getScore = cursor.GetGetter<float[]>(score);
        uint value = 0;
        float[] probabilities = [];
        while (cursor.MoveNext())
        {
            getLabel(ref value);
            if (value == 0 || value > classes)
                throw new InvalidDataException($"Evaluate: row {cursor.Position + 1} has key {value} in the label column '{label.Name}' (missing); evaluate on rows that all have a label.");
            getScore(ref probabilities);
            metrics.Add(probabilities, [value - 1L]);
        }
        return metrics.ToMetrics();
    }

    /// <summary>
    /// The metrics of <paramref name="model"/> on <paramref name="validationData"/> (prepared as for training, with the
    /// label column) for each inference alpha, in the order given, without retraining: each alpha gets a copy of the
    /// model (see <see cref="ImageClassificationTransformer.WithInferenceAlpha"/>); the model itself is not changed.
    /// Pick the best alpha and make the final model with WithInferenceAlpha.
    /// </summary>
    public IReadOnlyList<(double Alpha, ValidationMetrics Metrics)> TuneInferenceAlpha(ImageClassificationTransformer model,
        IDataView validationData, IEnumerable<double> alphas, string? labelColumnName = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(validationData);
        ArgumentNullException.ThrowIfNull(alphas);
        var candidates = alphas.ToList();
        if (candidates.Count == 0) throw new ArgumentException("TuneInferenceAlpha needs at least one alpha to try, each in [0, 1].", nameof(alphas));
        var results = new List<(double, ValidationMetrics)>();
        foreach (var alpha in candidates)
        {
            using var candidate = model.WithInferenceAlpha(alpha);
            results.Add((alpha, Evaluate(candidate.Transform(validationData), labelColumnName ?? model.LabelColumnName, model.ScoreColumnName)));
        }
        return results;
    }
}

/// <summary>The context's <c>MulticlassClassification.Trainers</c>.</summary>
public sealed class MulticlassClassificationTrainers
{
    private readonly Func<int> _nextSeed;

    internal MulticlassClassificationTrainers(Func<int> nextSeed) => _nextSeed = nextSeed;

    /// <summary>
    /// An image classifier with a chosen normalizer. The options are copied now; a null Seed takes the context's next
    /// seed, drawn now. Invalid options and columns are refused when Fit starts, before any data is read or trained on.
    /// </summary>
    public ImageClassificationEstimator ImageClassifierWithNorm(ImageClassifierWithNormOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ImageClassificationEstimator(options, _nextSeed());
    }

    /// <summary>The image classifier with default options (ResNet20, batch norm) on these columns.</summary>
    public ImageClassificationEstimator ImageClassifierWithNorm(string labelColumnName = "Label", string featureColumnName = "Features",
        string scoreColumnName = "Score", string predictedLabelColumnName = "PredictedLabel") =>
        ImageClassifierWithNorm(new ImageClassifierWithNormOptions
        {
            LabelColumnName = labelColumnName, FeatureColumnName = featureColumnName,
            ScoreColumnName = scoreColumnName, PredictedLabelColumnName = predictedLabelColumnName,
        });
}
