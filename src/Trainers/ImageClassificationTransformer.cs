using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetNormalization.Normalization;
using MLNetNormalization;
using MLNetNormalization.Backbones;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetNormalization;

/// <summary>
/// A trained image classifier, what <see cref="ImageClassificationEstimator.Fit"/> returns: an ML.NET
/// <see cref="ITransformer"/> that adds the class probabilities (<see cref="ScoreColumnName"/>, Vector&lt;Single, K&gt;,
/// softmax, with the annotations ML.NET's multiclass trainers give: SlotNames, TrainingLabelValues, ScoreColumnSetId,
/// ScoreColumnKind, ScoreValueKind) and the most probable class (<see cref="PredictedLabelColumnName"/>, Key&lt;UInt32,
/// K&gt; carrying the training label's KeyValues, so <c>MapKeyToValue</c> turns it back into class names). Its output
/// works with <c>ml.MulticlassClassification.Evaluate</c>, <c>CrossValidate</c> and <c>CreatePredictionEngine</c>, and
/// <c>ml.Model.Save</c>/<c>Load</c> keep it (see ImageClassificationTransformer.Saving.cs).
/// </summary>
/// <remarks>
/// Transform scores lazily, <see cref="BatchSize"/> rows per forward pass, as a cursor moves; a prediction engine scores
/// one row at a time. Thread safety: views and rows may be read from several threads at once; forward passes through the
/// network are serialized by a lock on it. The network holds native memory: <see cref="Dispose"/> frees it (views made
/// by Transform must not be read afterwards).
/// </remarks>
public sealed partial class ImageClassificationTransformer : ITransformer, IDisposable
{
    /// <summary>Rows a cursor scores per forward pass: enough to use the hardware, few enough to stay lazy.</summary>
    internal const int BatchSize = 64;

    private readonly nn.Module<Tensor, Tensor> _model;
    private bool _disposed;

    /// <param name="model">Trained, the network <paramref name="description"/> describes, on its device; the transformer owns it, puts it in eval mode and gives its layers the description's inference alpha.</param>
    internal ImageClassificationTransformer(nn.Module<Tensor, Tensor> model, ClassifierDescription description)
    {
        _model = model;
        _model.eval();
        if (description.InferenceAlpha is { } alpha) NormalizationModel.SetInferenceAlpha(_model, alpha);
        Description = description;
    }

    /// <summary>What the model is besides its weights; what saving writes and rebuilding uses.</summary>
    internal ClassifierDescription Description { get; }

    /// <summary>The input column, as for training: Vector&lt;Single&gt; of <see cref="Shape"/>'s size, or Vector&lt;Byte&gt; of encoded images.</summary>
    public string FeatureColumnName => Columns.Features;

    public string ScoreColumnName => Columns.Score;

    public string PredictedLabelColumnName => Columns.PredictedLabel;

    /// <summary>The label column the model was trained on (what evaluation compares with).</summary>
    public string LabelColumnName => Columns.Label;

    /// <summary>The input images' shape [C, H, W].</summary>
    public ImageShape Shape => Description.Shape;

    /// <summary>K, the number of classes: the training label's key count.</summary>
    public int ClassCount => LabelKeys.Count;

    /// <summary>The class each key stands for (key k is entry k - 1): the training label's key values as text, or "1".."K" when it had none.</summary>
    public IReadOnlyList<string> ClassNames => LabelKeys.Names;

    /// <summary>
    /// The inference alpha given to every layer of the network that keeps running statistics; null: each layer keeps its
    /// own. Precedence, applied in one place (this transformer's construction, by Fit, Load and WithInferenceAlpha alike):
    /// this value when set (the options' InferenceAlpha, WithInferenceAlpha's argument, or what the saved model recorded);
    /// else the alpha of the normalizer string ("gn:g=8,alpha=0.5"); else the layer's <c>DefaultAlpha</c>.
    /// </summary>
    public double? InferenceAlpha => Description.InferenceAlpha;

    /// <summary>The backbone's name in <see cref="BackboneRegistry"/>: a built-in <see cref="MLNetNormalization.Architecture"/>'s, or the one a user's factory was registered under.</summary>
    public string Backbone => Description.Backbone;

    /// <summary>The built-in architecture, or null for a backbone of the user's own (see <see cref="Backbone"/>).</summary>
    public Architecture? Architecture => BackboneRegistry.BuiltIn(Backbone);

    /// <summary>The normalizer of its layers, as a factory string ("mn:k=2").</summary>
    public string Normalizer => Plan.Normalizer;

    internal NormalizerPlan Plan => Description.Plan;
    internal FeatureKind FeatureKind => Description.FeatureKind;
    internal LabelKeyValues LabelKeys => Description.LabelKeys;
    internal ColumnNames Columns => Description.Columns;
    internal Device Device => Description.Device;

    bool ITransformer.IsRowToRowMapper => true;

    /// <summary>The input schema with the Score and PredictedLabel columns added (hiding input columns of those names).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The features column is missing or not of the trained shape.</exception>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckFeatures(inputSchema);
        return OutputColumns.AddTo(inputSchema, Columns.Score, Columns.PredictedLabel, LabelKeys);
    }

    /// <summary>The input with the Score and PredictedLabel columns, computed lazily in batches as a cursor reads them.</summary>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new ScoringView(this, input, CheckFeatures(input.Schema));
    }

    /// <summary>A row-by-row mapper over rows of <paramref name="inputSchema"/>, as prediction engines use.</summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new RowMapper(this, inputSchema, CheckFeatures(inputSchema));
    }

    /// <summary>
    /// A new model with the same weights whose layers with running statistics use example weight
    /// <paramref name="alpha"/> at inference (0: running statistics only, 1: the example's own statistics). This model
    /// keeps its own alpha. No retraining: the weights are copied into a freshly built network.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="alpha"/> is outside [0, 1].</exception>
    public ImageClassificationTransformer WithInferenceAlpha(double alpha)
    {
        if (!(alpha is >= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "The inference alpha must be in [0, 1] (0: running statistics, 1: the example's own).");
        ObjectDisposedException.ThrowIf(_disposed, this);
        var description = Description with { InferenceAlpha = alpha };
        var copy = description.NewNetwork();
        try
        {
            lock (_model)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                copy.load_state_dict(_model.state_dict());
            }
            return new ImageClassificationTransformer(copy, description);
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }

    /// <summary>The network's <c>state_dict</c>, in its order: the network's own tensors, not copies (read them, never dispose them).</summary>
    internal Dictionary<string, Tensor> State()
    {
        lock (_model)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _model.state_dict();
        }
    }

    /// <summary>Frees the network's native memory.</summary>
    public void Dispose()
    {
        // Under the forward-pass lock, so that a cursor scoring on another thread never runs a freed network.
        lock (_model)
        {
            if (_disposed) return;
            _disposed = true;
            _model.Dispose();
        }
    }

    /// <summary>Softmax probabilities, row-major [count, classes], of <paramref name="count"/> images laid out [C, H, W] each.</summary>
    private float[] Score(ReadOnlySpan<float> images, int count)
    {
        lock (_model)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var input = empty([count, Shape.Channels, Shape.Height, Shape.Width], ScalarType.Float32);
            images.CopyTo(MemoryMarshal.Cast<byte, float>(input.bytes));
            var probabilities = nn.functional.softmax(_model.forward(input.to(Device)), 1);
            return probabilities.to(ScalarType.Float32, CPU).data<float>().ToArray();
        }
    }

    private DataViewSchema.Column CheckFeatures(DataViewSchema schema)
    {
        var column = schema.GetColumnOrNull(Columns.Features)
            ?? throw new ArgumentOutOfRangeException(nameof(schema),
                $"ImageClassifierWithNorm model: the input has no features column '{Columns.Features}'; prepare the data as for training " +
                $"(LoadImages, ResizeImages to {Shape.Width}x{Shape.Height}, ExtractPixels into '{Columns.Features}').");
        var fits = FeatureKind == FeatureKind.Pixels
            ? column.Type is VectorDataViewType { Size: var size } && ImageFeatures.KindOf(column.Type) == FeatureKind.Pixels && size == Shape.ElementCount
            : ImageFeatures.KindOf(column.Type) == FeatureKind.EncodedImages;
        if (!fits)
            throw new ArgumentOutOfRangeException(nameof(schema), FeatureKind == FeatureKind.Pixels
                ? $"ImageClassifierWithNorm model: the features column '{column.Name}' is {column.Type}, but the model was trained on Vector<Single, {Shape.Channels}, {Shape.Height}, {Shape.Width}>; " +
                  $"prepare it as for training (LoadImages, ResizeImages to {Shape.Width}x{Shape.Height}, ExtractPixels with the same color bits, offset and scale)."
                : $"ImageClassifierWithNorm model: the features column '{column.Name}' is {column.Type}, but the model was trained on encoded images (Vector<Byte>); " +
                  "prepare it as for training (LoadRawImageBytes).");
        return column;
    }
}
