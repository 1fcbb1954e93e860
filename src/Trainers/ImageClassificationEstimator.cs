using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLNetNormalization.Normalization;
using MLNetNormalization;
using MLNetNormalization.Backbones;
using MLNetNormalization.Data;
using MLNetNormalization.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetNormalization;

/// <summary>
/// The ImageClassifierWithNorm trainer, made by <c>ml.MulticlassClassification.Trainers.ImageClassifierWithNorm</c>: an
/// ML.NET estimator whose Fit trains a backbone with the chosen normalizer on a key label column (as MapValueToKey makes)
/// and a features column of images, either a Vector&lt;Single&gt; of pixels (as ExtractPixels makes, planar C x H x W) or a
/// Vector&lt;Byte&gt; of encoded image files (as LoadRawImageBytes makes, decoded in the trainer at the size the options
/// give, see <see cref="FeatureKind"/>), and returns the trained
/// <see cref="ImageClassificationTransformer"/>. It chains with Append; EstimatorChain.Fit checks its output schema
/// before anything is trained.
/// </summary>
/// <remarks>
/// From the MLContext it takes, as ML.NET's own trainers do: the seed (a fixed <c>new MLContext(seed)</c> gives the same
/// weights on the CPU; <see cref="ImageClassifierWithNormOptions.Seed"/> overrides it), the log (<c>ml.Log</c> receives
/// the progress lines and, when Fit resumed a checkpoint of <see cref="ImageClassifierWithNormOptions.WorkspacePath"/>, a line
/// "Resumed from the checkpoint in DIR at epoch E, batch B.") and the context's cancellation flag (which ML.NET keeps internal, for its own tools; a user
/// cancels with <see cref="ImageClassifierWithNormOptions.CancellationToken"/>): either stops training at the next step
/// with <see cref="OperationCanceledException"/>.
/// </remarks>
public sealed class ImageClassificationEstimator : IEstimator<ImageClassificationTransformer>
{
    private const string TrainerName = "ImageClassifierWithNorm";

    private readonly IHost _host;
    private readonly ImageClassifierWithNormOptions _options;
    private readonly int _seed;
    private readonly bool _seedFixed;
    private readonly ContextDevice _contextDevice;

    /// <param name="options">Copied now: later changes to the caller's instance change nothing.</param>
    internal ImageClassificationEstimator(IHostEnvironment env, ImageClassifierWithNormOptions options)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        _host = env.Register(TrainerName);
        _options = options.Clone();
        // Drawn now, as ML.NET's trainers draw from their host: the same context seed gives the same trainers.
        _seed = _options.Seed ?? _host.Rand.Next();
        // A seed the user chose (the options' or the context's) is part of what the run is; one drawn from an unseeded
        // context is not, so that a rerun resumes its workspace's checkpoint (FitSeed).
        _seedFixed = _options.Seed is not null || (env as IHostEnvironmentInternal)?.Seed is not null;
        _contextDevice = ContextDevice.Of(env);
    }

    /// <summary>
    /// Checks the columns and every option before anything is read, reads the data once into an image cache (in memory up
    /// to 256 MiB, else a temporary file in TMPDIR of C·H·W·4 bytes an image of pixels, H·W·3 an encoded image, gone when
    /// Fit ends; memory holds a few batches whatever the data's size), trains, and
    /// returns the model. The pixels are used as given (no standardization of the trainer's own), so standardize in
    /// ExtractPixels (offsetImage, scaleImage); the crop padding of augmentation pads with 0.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type (the message names it and the transform that makes it).</exception>
    /// <exception cref="ArgumentException">An option or combination of options is invalid, the data have fewer than two classes, or no rows.</exception>
    /// <exception cref="InvalidDataException">A row's label was not among the values MapValueToKey was fitted on (the message names the row and value).</exception>
    /// <exception cref="OperationCanceledException">The options' CancellationToken, or the MLContext's cancellation, was cancelled.</exception>
    public ImageClassificationTransformer Fit(IDataView input) => FitWithTrainingResult(input).Model;

    /// <summary>
    /// Checks the columns of <paramref name="schema"/> and every option as <see cref="Fit"/> does before reading any data,
    /// and trains nothing. Throws what Fit throws for them.
    /// </summary>
    internal void CheckBeforeFit(DataViewSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var columns = CheckTrainingColumns(schema, nameof(schema));
        _options.Resolve(columns.Shape, columns.Classes, _seed, _contextDevice);
    }

    /// <summary>
    /// <see cref="Fit"/>, also returning what the engine did (every epoch's history, including those of a resumed
    /// checkpoint). One way through: check the columns and options, read the data, build the network and train it, wrap it.
    /// </summary>
    /// <param name="input">The training data.</param>
    /// <param name="read">
    /// The images <paramref name="input"/> and the options' validation data were read into by <see cref="ReadForFits"/>
    /// of an estimator with the same columns, validation data and seed (a sweep's trials share one reading); null: read them now.
    /// </param>
    internal (ImageClassificationTransformer Model, TrainingResult Training) FitWithTrainingResult(IDataView input, FitData? read = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        // The estimator keeps the token it was made with; once cancelled it stays so, and every Fit would stop at once.
        if (_options.CancellationToken.IsCancellationRequested)
            throw new OperationCanceledException(
                "ImageClassifierWithNorm: the options' CancellationToken was cancelled before this Fit started. Make the trainer again with a new token " +
                (_options.WorkspacePath is null ? "to train." : $"to resume from the checkpoint in {_options.WorkspacePath}."),
                _options.CancellationToken);
        var columns = CheckTrainingColumns(input.Schema, nameof(input));
        // The options first: an invalid combination is reported as such, whatever the data look like.
        var resolved = _options.Resolve(columns.Shape, columns.Classes, FitSeed(), _contextDevice);
        var labelKeys = LabelKeyValues.From(columns.Label, columns.Classes);
        if (read is not null) return Train(columns, resolved, labelKeys, read.Train, read.Validation);
        using var data = ReadData(input, columns, labelKeys, resolved.Training.Seed);
        return Train(columns, resolved, labelKeys, data.Train, data.Validation);
    }

    /// <summary>
    /// Reads <paramref name="input"/> and the options' validation data as Fit would, for several Fits of estimators that
    /// differ in nothing the reading depends on (the columns, the validation data or fraction, the seed): a sweep reads
    /// (and decodes) its data once rather than once a trial. The caller disposes the result when the last Fit is done.
    /// </summary>
    internal FitData ReadForFits(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var columns = CheckTrainingColumns(input.Schema, nameof(input));
        var resolved = _options.Resolve(columns.Shape, columns.Classes, FitSeed(), _contextDevice);
        return ReadData(input, columns, LabelKeyValues.From(columns.Label, columns.Classes), resolved.Training.Seed);
    }

    /// <summary>The images Fit trains and validates on, and the caches that hold them until Fit ends.</summary>
    internal sealed record FitData(ILabeledImageSource Train, ILabeledImageSource? Validation, IReadOnlyList<ImageCache> Caches) : IDisposable
    {
        public void Dispose()
        {
            foreach (var cache in Caches) cache.Dispose();
        }
    }

    /// <summary>The training data's label and features columns, the images' kind and shape, and the class count.</summary>
    private sealed record TrainingColumns(DataViewSchema.Column Label, DataViewSchema.Column Features, FeatureKind Kind, ImageShape Shape, int Classes);

    private TrainingColumns CheckTrainingColumns(DataViewSchema schema, string parameter)
    {
        var (label, features, kind, shape) = CheckColumns(schema, "training data");
        var classes = checked((int)label.Type.GetKeyCount());
        if (classes < 2)
            throw new ArgumentException(
                $"ImageClassifierWithNorm: the label column '{label.Name}' has {classes} class; a multiclass model needs at least two classes. " +
                "Give training data with at least two label values (and fit MapValueToKey on it).", parameter);
        return new(label, features, kind, shape, classes);
    }

    /// <summary>
    /// The training images and the validation images (the options' set, a held-out fraction, or none), read once into
    /// image caches (<see cref="ImageCache"/>): memory holds a few batches and at most the cache's memory limit, whatever
    /// the data's size.
    /// </summary>
    private FitData ReadData(IDataView input, TrainingColumns columns, LabelKeyValues labelKeys, ulong seed)
    {
        (DataViewSchema.Column Label, DataViewSchema.Column Features)? validationColumns = null;
        if (_options.ValidationSet is { } validationView)
        {
            var (validationLabel, validationFeatures, validationKind, validationShape) = CheckColumns(validationView.Schema, "ValidationSet");
            validationColumns = (validationLabel, validationFeatures);
            if (!validationLabel.Type.Equals(columns.Label.Type) || validationKind != columns.Kind || validationShape != columns.Shape)
                throw new ArgumentException(
                    $"ImageClassifierWithNormOptions.ValidationSet: its '{validationLabel.Name}' ({validationLabel.Type}) and images ({validationShape}) differ from the training data's ({columns.Label.Type}, {columns.Shape}); " +
                    "prepare both with the same fitted transforms.", nameof(input));
        }

        var all = TrainingRows.Read(input, columns.Label, columns.Features, columns.Kind, columns.Shape, labelKeys.Names, "training data");
        ImageCache? held = null;
        try
        {
            if (all.Count == 0)
                throw new ArgumentException("ImageClassifierWithNorm: the training data have no rows; give a view with images in it.", nameof(input));
            if (Enumerable.Range(1, all.Count - 1).All(i => all.GetLabel(i) == all.GetLabel(0)))
                throw new ArgumentException(
                    $"ImageClassifierWithNorm: every row of the training data has the label '{labelKeys.Names[all.GetLabel(0)]}'; a multiclass model needs at least two classes. " +
                    "Give training data with examples of at least two classes.", nameof(input));
            if (_options.ValidationSet is { } set && validationColumns is { } validation)
            {
                held = TrainingRows.Read(set, validation.Label, validation.Features, columns.Kind, columns.Shape, labelKeys.Names, "ValidationSet");
                if (held.Count == 0)
                    throw new ArgumentException("ImageClassifierWithNormOptions.ValidationSet has no rows; give a view with images in it, or leave it null.", nameof(input));
                return new FitData(all, held, [all, held]);
            }
            if (_options.ValidationFraction == 0) return new FitData(all, null, [all]);
            var (train, heldOut) = TrainingRows.Split(all, _options.ValidationFraction, seed);
            return new FitData(train, heldOut, [all]);
        }
        catch
        {
            all.Dispose();
            held?.Dispose();
            throw;
        }
    }

    /// <summary>Builds the network from the seed, trains it with the engine (progress to the log and the callback, cancellation from both tokens) and wraps it.</summary>
    private (ImageClassificationTransformer Model, TrainingResult Training) Train(TrainingColumns columns, ResolvedClassifierOptions resolved, LabelKeyValues labelKeys,
                                                                                 ILabeledImageSource train, ILabeledImageSource? validation)
    {
        var (options, training) = (_options, resolved.Training);
        manual_seed(unchecked((long)training.Seed));
        var model = BackboneRegistry.Create(resolved.Backbone, columns.Shape, columns.Classes, resolved.Plan).to(resolved.Device);
        try
        {
            using var channel = _host.Start("Training");
            using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken);
            // ML.NET's cancellation is a flag on the context's hosts; the engine listens to a token.
            using var watch = new Timer(_ => { if (((ICancelable)_host).IsCanceled) cancellation.Cancel(); }, null, TimeSpan.Zero, TimeSpan.FromMilliseconds(100));
            if (resolved.DeviceNote is { } note) channel.Warning(note);
            if (!model.modules().Any(m => m is NormalizationLayer))
                channel.Warning($"The backbone '{resolved.Backbone}' has no normalization layer of this library: its factory did not use the normalization function it was given, " +
                                $"so \"{resolved.Plan.Normalizer}\" is not in the network being trained. Build each normalization layer with that function.");
            channel.Info($"Training {resolved.Backbone} with \"{resolved.Plan.Normalizer}\" on {train.Count} images of {columns.Shape}, {columns.Classes} classes, for {training.Epochs} epoch{(training.Epochs == 1 ? "" : "s")}.");
            var result = resolved.Trainer.Train(model, train, validation, progress =>
            {
                channel.Info(Describe(progress));
                options.MetricsCallback?.Invoke(progress);
                // A callback that cancelled stops training now: the engine looks at the token only before a step, and
                // the watch above may tick only after the last one, so Fit would return a model after all.
                if (((ICancelable)_host).IsCanceled) cancellation.Cancel();
                cancellation.Token.ThrowIfCancellationRequested();
            }, cancellation.Token);
            // The engine says where it resumed only in its result: the log is where an ML.NET user learns that Fit continued a checkpoint.
            if (result.ResumedFrom is { } resumedFrom)
                channel.Info($"Resumed from the checkpoint in {training.WorkspacePath} at {resumedFrom}.");
            return (new ImageClassificationTransformer(model, new ClassifierDescription(resolved.Backbone, resolved.Plan, columns.Shape, labelKeys, columns.Kind,
                new(options.LabelColumnName, options.FeatureColumnName, options.ScoreColumnName, options.PredictedLabelColumnName),
                resolved.InferenceAlpha, resolved.Device)), result);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The seed this Fit trains with: the estimator's, except that where the user fixed none and the workspace holds a
    /// checkpoint, the checkpoint's own, so that the rerun resumes the run the checkpoint belongs to rather than being
    /// refused as another (a run is keyed by its options and data, and by its seed only when the user chose it).
    /// </summary>
    private int FitSeed()
    {
        if (_seedFixed || _options.WorkspacePath is not { } workspace) return _seed;
        var checkpoint = Path.Combine(workspace, ClassifierTrainer.CheckpointFileName);
        return File.Exists(checkpoint) && Checkpoint.ReadSeed(checkpoint) is { } saved ? unchecked((int)(uint)saved) : _seed;
    }

    /// <summary>
    /// The input columns plus Score (Vector&lt;Single&gt;) and PredictedLabel (a key with the label's KeyValues), with
    /// the annotations ML.NET's multiclass trainers give, after checking the label and features columns exist with
    /// usable types and that the device can be had. Trains nothing.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The label or features column is missing or of the wrong type.</exception>
    /// <exception cref="ArgumentException">The options' Device, or the MLContext's GpuDeviceId without FallbackToCpu, asks for a GPU TorchSharp cannot give.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        if (!inputSchema.TryFindColumn(_options.LabelColumnName, out var label))
            throw MissingColumn(_options.LabelColumnName, "label", "a key column made by Transforms.Conversion.MapValueToKey");
        if (!label.IsKey)
            throw NotAKey(label.Name, $"{label.ItemType?.ToString()}{(label.Kind == SchemaShape.Column.VectorKind.Scalar ? "" : " vector")}", "pipeline");
        if (!inputSchema.TryFindColumn(_options.FeatureColumnName, out var features))
            throw MissingColumn(_options.FeatureColumnName, "features", "a Vector<Single> made by Transforms.ResizeImages then Transforms.ExtractPixels");
        var pixels = features.Kind == SchemaShape.Column.VectorKind.Vector && features.ItemType == NumberDataViewType.Single;
        var encoded = features.Kind != SchemaShape.Column.VectorKind.Scalar && features.ItemType == NumberDataViewType.Byte;
        if (!pixels && !encoded)
            throw NotImages(features.Name, $"{features.ItemType?.ToString()} ({features.Kind})", "pipeline");
        // ML.NET asks every estimator of a chain for its schema before fitting the first: a device that cannot be had is
        // refused here, before MapValueToKey or any other step reads the data.
        _options.ResolveDevice(_contextDevice);
        return OutputColumns.AddTo(inputSchema, _options.ScoreColumnName, _options.PredictedLabelColumnName, label);
    }

    private (DataViewSchema.Column Label, DataViewSchema.Column Features, FeatureKind Kind, ImageShape Shape) CheckColumns(DataViewSchema schema, string what)
    {
        var label = schema.GetColumnOrNull(_options.LabelColumnName)
            ?? throw MissingColumn(_options.LabelColumnName, $"label, in the {what}", "a key column made by Transforms.Conversion.MapValueToKey");
        if (label.Type is not KeyDataViewType { RawType: var raw } || raw != typeof(uint))
            throw NotAKey(label.Name, $"{label.Type}", what);
        var features = schema.GetColumnOrNull(_options.FeatureColumnName)
            ?? throw MissingColumn(_options.FeatureColumnName, $"features, in the {what}", "a Vector<Single> made by Transforms.ResizeImages then Transforms.ExtractPixels");
        var kind = ImageFeatures.KindOf(features.Type) ?? throw NotImages(features.Name, $"{features.Type}", what);
        return (label, features, kind, ImageShapeOf(features.Name, (VectorDataViewType)features.Type, kind));
    }

    // ExtractPixels gives [C, H, W]; a plain vector and encoded images take their shape from the options.
    private ImageShape ImageShapeOf(string column, VectorDataViewType vector, FeatureKind kind)
    {
        var dimensions = vector.Dimensions;
        if (kind == FeatureKind.Pixels && dimensions.Length == 3) return new ImageShape(dimensions[0], dimensions[1], dimensions[2]);
        if (_options.ImageChannels is not { } c || _options.ImageHeight is not { } h || _options.ImageWidth is not { } w)
            throw new ArgumentOutOfRangeException(nameof(ImageClassifierWithNormOptions.ImageHeight), kind == FeatureKind.Pixels
                ? $"ImageClassifierWithNorm: the features column '{column}' is {vector} with no image dimensions; make it with Transforms.ExtractPixels (which gives C x H x W), " +
                  "or set ImageClassifierWithNormOptions.ImageChannels, ImageHeight and ImageWidth (planar C x H x W order)."
                : $"ImageClassifierWithNorm: the features column '{column}' holds encoded images ({vector}); set ImageClassifierWithNormOptions.ImageChannels (1 or 3), " +
                  "ImageHeight and ImageWidth to the size the network should see them at.");
        if (kind == FeatureKind.EncodedImages && c is not (1 or 3))
            throw new ArgumentOutOfRangeException(nameof(ImageClassifierWithNormOptions.ImageChannels),
                $"ImageClassifierWithNormOptions.ImageChannels: encoded images are decoded to 1 (gray) or 3 (RGB) channels, not {c}.");
        if (kind == FeatureKind.Pixels && (long)c * h * w != vector.Size)
            throw new ArgumentOutOfRangeException(nameof(ImageClassifierWithNormOptions.ImageHeight),
                $"ImageClassifierWithNormOptions: ImageChannels x ImageHeight x ImageWidth = {c}x{h}x{w} = {(long)c * h * w} values, but the features column '{column}' has {vector.Size}; give the shape of its images.");
        return new ImageShape(c, h, w);
    }

    private static ArgumentOutOfRangeException MissingColumn(string name, string role, string expected) => new("inputSchema",
        $"ImageClassifierWithNorm: there is no column '{name}' ({role}); it must be {expected}. Add it to the pipeline, or name your column in ImageClassifierWithNormOptions.");

    private static ArgumentOutOfRangeException NotAKey(string name, string type, string what) => new("inputSchema",
        $"ImageClassifierWithNorm: the label column '{name}' of the {what} is {type}, not a key column; ML.NET's multiclass trainers train on keys: " +
        $"add Transforms.Conversion.MapValueToKey(\"{name}\") before the trainer.");

    private static ArgumentOutOfRangeException NotImages(string name, string type, string what) => new("inputSchema",
        $"ImageClassifierWithNorm: the features column '{name}' of the {what} is {type}; it must be a Vector<Single> of known size holding planar C x H x W pixels, " +
        "made by Transforms.LoadImages, Transforms.ResizeImages, then Transforms.ExtractPixels, or a Vector<Byte> of encoded image files made by Transforms.LoadRawImageBytes.");

    /// <summary>A progress report as one log line.</summary>
    internal static string Describe(TrainingProgress p)
    {
        var position = p.Phase == TrainingPhase.EpochEnd
            ? string.Create(CultureInfo.InvariantCulture, $"epoch {p.Epoch}/{p.Epochs} finished")
            : string.Create(CultureInfo.InvariantCulture, $"epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.StepsPerEpoch}");
        var line = position + string.Create(CultureInfo.InvariantCulture,
            $": loss {p.Loss:F4}, accuracy {p.Accuracy:P2}, learning rate {p.LearningRate:G4}, {p.ImagesPerSecond:F0} images/s, ETA {p.EstimatedRemaining:hh\\:mm\\:ss}");
        return p.Validation is { } v
            ? line + string.Create(CultureInfo.InvariantCulture, $"; validation accuracy {v.MicroAccuracy:P2}, log-loss {v.LogLoss:F4}")
            : line;
    }
}
