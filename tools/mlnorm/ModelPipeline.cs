using System.Globalization;
using MLNetNormalization.Sweeps;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MLNetNormalization.Normalization;
using MLNetNormalization.Tools.Mlnorm.Report;
using MLNetNormalization.Backbones;
using MLNetNormalization.Training;

namespace MLNetNormalization.Tools.Mlnorm;

/// <summary>What `mlnorm train` (and each sweep trial) trains.</summary>
internal sealed record TrainSettings(
    string Normalizer,
    Architecture Architecture,
    int Epochs,
    int BatchSize,
    double LearningRate,
    int? ImageSize,
    bool Rgb,
    double ValidationFraction,
    int Seed,
    IReadOnlyList<double> Alphas);

/// <summary>A trained model: the saved pipeline, its classifier, the per-epoch history and its evaluation on the held-out images.</summary>
internal sealed class TrainedModel(TransformerChain<ITransformer> model, ImageClassificationTransformer classifier, List<EpochPoint> history,
                                   EvaluationResult evaluation, TimeSpan elapsed) : IDisposable
{
    public TransformerChain<ITransformer> Model { get; } = model;

    public ImageClassificationTransformer Classifier { get; } = classifier;

    public List<EpochPoint> History { get; } = history;

    public EvaluationResult Evaluation { get; } = evaluation;

    public TimeSpan Elapsed { get; } = elapsed;

    public void Dispose() => Classifier.Dispose();
}

/// <summary>The fitted steps before the classifier, and the classifier's training and validation input.</summary>
internal sealed record PreparedData(IReadOnlyList<ITransformer> ImageSteps, ITransformer KeyMap, IDataView Train, IDataView Validation);

/// <summary>ML.NET's metrics of a model on some images, with the accuracy at each inference alpha tried.</summary>
internal sealed record EvaluationResult(IReadOnlyList<string> Classes, MulticlassClassificationMetrics Metrics, IReadOnlyList<AlphaPoint> Alphas);

/// <summary>
/// The saved model: image file (ImagePath) to pixels (LoadImages, ResizeImages, ConvertToGrayscale unless RGB,
/// ExtractPixels standardized as <see cref="Dataset.PixelOffset"/>/<see cref="Dataset.PixelScale"/>), Label to key
/// (MapValueToKey), ImageClassifierWithNorm, and PredictedLabel back to its class name in PredictedLabelValue. A model
/// trained on IDX files gets the same image steps, so that it predicts image files too; evaluating IDX files skips them.
/// </summary>
internal static class ModelPipeline
{
    public const string ImageColumn = "Image", FeaturesColumn = "Features", LabelColumn = "Label",
                        PredictedLabelColumn = "PredictedLabel", PredictedLabelValueColumn = "PredictedLabelValue";

    /// <summary>Architecture names as --arch takes them: the enum's names (any case) and short forms.</summary>
    public static Architecture ParseArchitecture(string text)
    {
        var key = text.Trim().Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal);
        if (key.Equals("nin", StringComparison.OrdinalIgnoreCase)) return Architecture.NetworkInNetwork;
        if (Enum.TryParse<Architecture>(key, ignoreCase: true, out var architecture) && Enum.IsDefined(architecture) && !int.TryParse(key, out _))
            return architecture;
        throw new UsageException(
            $"--arch '{text}' is not an architecture; use one of {string.Join(", ", Enum.GetNames<Architecture>().Select(n => n.ToLowerInvariant()))} (or nin).");
    }

    /// <summary>Checks a normalizer string with the project's factory; the error lists the valid forms.</summary>
    public static string CheckNormalizer(string specification)
    {
        try
        {
            NormalizerFactory.Create(specification);
            return specification;
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--norm '{specification}': {OneLine(e.Message)}");
        }
    }

    /// <summary>Message text on one line (the library's messages may hold line breaks and the parameter name).</summary>
    public static string OneLine(string message)
    {
        var paramIndex = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        if (paramIndex >= 0) message = message[..paramIndex];
        return string.Join(" ", message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    /// <summary>The height and width the model's images are resized to.</summary>
    public static (int Height, int Width) ImageSize(Dataset data, TrainSettings settings)
    {
        var minimum = Backbone.MinimumImageSize(settings.Architecture);
        if (data.IdxSize is { } idx)
        {
            if (settings.ImageSize is { } size && size != idx.Height)
                throw new UsageException($"--image-size {size}: the IDX images of {data.Path} are {idx.Height}x{idx.Width} and are used at that size; drop --image-size.");
            if (settings.Rgb)
                throw new UsageException($"--color rgb: the IDX images of {data.Path} are grayscale; drop --color.");
            return idx;
        }
        var chosen = settings.ImageSize ?? (settings.Architecture == Architecture.LeNet ? 28 : 32);
        if (chosen < minimum)
            throw new UsageException($"--image-size {chosen} is below {settings.Architecture}'s smallest input, {minimum}x{minimum}; pass --image-size {minimum} or more.");
        return (chosen, chosen);
    }

    /// <summary>Trains a model on <paramref name="data"/>, holding out <see cref="TrainSettings.ValidationFraction"/> of it for per-epoch validation and the final evaluation.</summary>
    /// <param name="workspace">The folder of the training's checkpoints (resumed from when it holds one), or null for none.</param>
    public static TrainedModel Train(MLContext ml, Dataset data, TrainSettings settings, Action<TrainingProgress> progress, CancellationToken cancellation,
                                     string? workspace = null)
    {
        var prepared = Prepare(ml, data, settings);
        var (train, validation) = (prepared.Train, prepared.Validation);

        var history = new List<EpochPoint>();
        var options = ClassifierOptions(settings);
        options.ValidationSet = validation;
        options.CancellationToken = cancellation;
        options.WorkspacePath = workspace;
        options.MetricsCallback = p =>
        {
            if (p.Phase == TrainingPhase.EpochEnd)
                history.Add(new EpochPoint(p.Epoch, p.Loss, p.Accuracy, p.Validation?.LogLoss, p.Validation?.MicroAccuracy));
            progress(p);
        };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        ImageClassificationTransformer classifier;
        try
        {
            classifier = ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(options).Fit(train);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(OneLine(e.Message));
        }
        var elapsed = clock.Elapsed;
        var model = Assemble(ml, prepared, classifier);
        var evaluation = Evaluate(ml, model, validation, settings.Alphas);
        return new TrainedModel(model, classifier, history, evaluation, elapsed);
    }

    /// <summary>The classifier's options for <paramref name="settings"/>, without data, callbacks or cancellation.</summary>
    public static ImageClassifierWithNormOptions ClassifierOptions(TrainSettings settings) => new()
    {
        Architecture = settings.Architecture,
        NormalizerSpecification = settings.Normalizer,
        Epochs = settings.Epochs,
        BatchSize = settings.BatchSize,
        LearningRate = settings.LearningRate,
        Schedule = LearningRateScheduleKind.Cosine,
        CropPadding = 0,
        HorizontalFlip = true,
        Seed = settings.Seed,
        LabelColumnName = LabelColumn,
        FeatureColumnName = FeaturesColumn,
    };

    /// <summary>What a model trained by <paramref name="command"/> on <paramref name="data"/> with <paramref name="options"/> was made from, for its training code.</summary>
    public static TrainingRecipe Recipe(string command, Dataset data, IReadOnlyList<string>? classNames, TrainSettings settings, ImageClassifierWithNormOptions options)
    {
        var (height, width) = ImageSize(data, settings);
        return new TrainingRecipe(command, data.Path, data.IdxFiles, classNames, height, width, settings.Rgb, settings.ValidationFraction, settings.Seed, options);
    }

    /// <summary>
    /// The fitted steps before the classifier and the classifier's training and validation input: <paramref name="data"/>
    /// split (<see cref="TrainSettings.ValidationFraction"/> held out), image files to pixels, labels to keys.
    /// </summary>
    public static PreparedData Prepare(MLContext ml, Dataset data, TrainSettings settings)
    {
        var size = ImageSize(data, settings);
        var split = Split(ml, data, settings.ValidationFraction, settings.Seed);
        var imageSteps = (IEnumerable<ITransformer>)ImageSteps(ml, size, settings.Rgb)
            .Fit(data.IsIdx ? ml.Data.LoadFromEnumerable(new List<Dataset.ImageRow>()) : split.TrainSet);
        IDataView Pixels(IDataView rows) => data.IsIdx ? rows : imageSteps.Aggregate(rows, (view, step) => step.Transform(view));
        var keyMap = ml.Transforms.Conversion.MapValueToKey(LabelColumn).Fit(split.TrainSet);
        return new PreparedData([.. imageSteps], keyMap, keyMap.Transform(Pixels(split.TrainSet)), keyMap.Transform(Pixels(split.TestSet)));
    }

    /// <summary>
    /// ML.NET's <c>TrainTestSplit</c> of the dataset's rows: <paramref name="validationFraction"/> of them held out (its
    /// TestSet), drawn from <paramref name="seed"/>. The same rows, fraction and seed give the same split, which is how
    /// `mlnorm evaluate --split validation` finds the images a model was validated on.
    /// </summary>
    public static DataOperationsCatalog.TrainTestData Split(MLContext ml, Dataset data, double validationFraction, int seed) =>
        ml.Data.TrainTestSplit(data.Rows, testFraction: validationFraction, seed: seed);

    /// <summary>The saved model: the image steps, the label keys, the classifier, and the predicted key back to its class name.</summary>
    public static TransformerChain<ITransformer> Assemble(MLContext ml, PreparedData prepared, ImageClassificationTransformer classifier)
    {
        var keyToValue = ml.Transforms.Conversion.MapKeyToValue(PredictedLabelValueColumn, PredictedLabelColumn).Fit(classifier.Transform(prepared.Train));
        return new TransformerChain<ITransformer>([.. prepared.ImageSteps, prepared.KeyMap, classifier, keyToValue]);
    }

    /// <summary>The image steps: file to standardized pixels of the given size, gray (one channel) or RGB.</summary>
    internal static IEstimator<ITransformer> ImageSteps(MLContext ml, (int Height, int Width) size, bool rgb)
    {
        // ImagePath holds absolute paths, so no image folder is given.
        IEstimator<ITransformer> steps = ml.Transforms.LoadImages(ImageColumn, imageFolder: null, inputColumnName: nameof(Dataset.ImageRow.ImagePath))
            .Append(ml.Transforms.ResizeImages(ImageColumn, size.Width, size.Height));
        if (!rgb) steps = steps.Append(ml.Transforms.ConvertToGrayscale(ImageColumn));
        return steps.Append(ml.Transforms.ExtractPixels(FeaturesColumn, ImageColumn,
            rgb ? ImagePixelExtractingEstimator.ColorBits.Rgb : ImagePixelExtractingEstimator.ColorBits.Red,
            offsetImage: Dataset.PixelOffset, scaleImage: Dataset.PixelScale));
    }

    /// <summary>The classifier of a saved model.</summary>
    public static ImageClassificationTransformer ClassifierOf(TransformerChain<ITransformer> model) =>
        model.OfType<ImageClassificationTransformer>().SingleOrDefault()
        ?? throw new UsageException("--model holds no ImageClassifierWithNorm classifier; pass a model.zip that mlnorm train or sweep wrote.");

    /// <summary>
    /// The classifier's input for <paramref name="rows"/> of <paramref name="data"/> (all of them, or one side of its
    /// split): the model's steps before the classifier applied to them (the image steps skipped for IDX data, which holds
    /// pixels already).
    /// </summary>
    public static IDataView ClassifierInput(TransformerChain<ITransformer> model, Dataset data, IDataView rows)
    {
        var unknown = data.Classes.Except(ClassifierOf(model).ClassNames).ToList();
        if (unknown.Count > 0)
            throw new UsageException(
                $"--dataset {data.Path} has classes the model was not trained on ({string.Join(", ", unknown.Take(5))}); evaluate on images of the model's classes ({string.Join(", ", ClassifierOf(model).ClassNames.Take(10))}).");
        var view = rows;
        foreach (var step in Steps(model))
        {
            if (step is ImageClassificationTransformer) return view;
            var isImageStep = step is ImageLoadingTransformer or ImageResizingTransformer or ImageGrayscalingTransformer or ImagePixelExtractingTransformer;
            if (data.IsIdx && isImageStep) continue;
            view = step.Transform(view);
        }
        throw new UsageException("--model holds no ImageClassifierWithNorm classifier; pass a model.zip that mlnorm train or sweep wrote.");
    }

    /// <summary>
    /// The model's transformers in order, with the chains in it opened: the image steps are chains within chains
    /// (<c>Append</c> on an <c>IEstimator</c> nests the chain so far), and IDX data must skip each of them.
    /// </summary>
    private static IEnumerable<ITransformer> Steps(IEnumerable<ITransformer> chain) =>
        chain.SelectMany(step => step is IEnumerable<ITransformer> inner ? Steps(inner) : [step]);

    /// <summary>ML.NET's Evaluate of the classifier on its input, and the accuracy at each inference alpha.</summary>
    public static EvaluationResult Evaluate(MLContext ml, TransformerChain<ITransformer> model, IDataView classifierInput, IReadOnlyList<double> alphas)
    {
        var classifier = ClassifierOf(model);
        var metrics = ml.MulticlassClassification.Evaluate(classifier.Transform(classifierInput), LabelColumn);
        var curve = alphas.Count == 0 ? [] : ml.MulticlassClassification.TuneInferenceAlpha(classifier, classifierInput, alphas)
            .Select(a => new AlphaPoint(a.Alpha, a.Metrics.MicroAccuracy, a.Metrics.LogLoss)).ToList();
        return new EvaluationResult(classifier.ClassNames, metrics, curve);
    }

    /// <summary>Parses a comma-separated list of alphas in [0, 1].</summary>
    public static IReadOnlyList<double> ParseAlphas(string text)
    {
        var alphas = new List<double>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var alpha) || alpha is < 0 or > 1)
                throw new UsageException($"--alphas: '{part}' is not a number in [0, 1]; pass inference alphas such as 0,0.5,1.");
            alphas.Add(alpha);
        }
        return alphas;
    }
}
