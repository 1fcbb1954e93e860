using MLNetNormalization.Data;
using MLNetNormalization.Normalization;
using MLNetNormalization.Trainers.Backbones;
using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.NN;

namespace MLNetNormalization.Trainers.ImageClassification;

/// <summary>
/// A trained image classifier (what ImageClassifierWithNorm's Fit returns). Transform adds the class probabilities
/// (<see cref="ScoreColumnName"/>, Vector&lt;Single, classes&gt;, softmax) and the most probable class
/// (<see cref="PredictedLabelColumnName"/>, a key column carrying the training label's key values, so MapKeyToValue
/// turns it back into class names), computed lazily, in batches, as a cursor moves.
/// </summary>
/// <remarks>
/// Thread safety: Transform, its views and their cursors may be used from several threads at once; forward passes
/// through the network are serialized by a lock on it. The network holds native memory: <see cref="Dispose"/> frees it
/// (views made by Transform must not be read afterwards).
/// </remarks>
public sealed partial class ImageClassificationTransformer : ITransformer, IDisposable
{
    /// <summary>Rows a cursor scores per forward pass: enough to use the hardware, few enough to stay lazy.</summary>
    internal const int BatchSize = 64;

    private readonly Module _model;
    private bool _disposed;

    /// <param name="model">Trained, on <paramref name="device"/>; the transformer owns it and puts it in eval mode.</param>
    internal ImageClassificationTransformer(Module model, Architecture architecture, NormalizerPlan plan, ImageShape shape, int classCount,
        DataViewSchema.Annotations labelAnnotations, ColumnNames columns, double? inferenceAlpha, Device device)
    {
        _model = model;
        _model.Eval();
        Architecture = architecture;
        Plan = plan;
        Shape = shape;
        ClassCount = classCount;
        LabelAnnotations = labelAnnotations;
        Columns = columns;
        InferenceAlpha = inferenceAlpha;
        Device = device;
        ClassNames = ClassNameReader.Read(labelAnnotations) ?? [.. Enumerable.Range(1, classCount).Select(k => k.ToString(System.Globalization.CultureInfo.InvariantCulture))];
    }

    /// <summary>The column names a model reads and writes.</summary>
    internal sealed record ColumnNames(string Label, string Features, string Score, string PredictedLabel);

    public string FeatureColumnName => Columns.Features;

    public string ScoreColumnName => Columns.Score;

    public string PredictedLabelColumnName => Columns.PredictedLabel;

    /// <summary>The label column the model was trained on (Evaluate's default).</summary>
    public string LabelColumnName => Columns.Label;

    /// <summary>The input images' shape [C, H, W].</summary>
    public ImageShape Shape { get; }

    public int ClassCount { get; }

    /// <summary>The class each key stands for (key k is entry k - 1): the training label's key values as text, or "1".."K" when it had none.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The inference alpha set on the network's layers; null: each layer's own default.</summary>
    public double? InferenceAlpha { get; }

    // What saving a model needs to rebuild it: the backbone is rebuilt from Architecture, Plan, Shape and ClassCount,
    // then the weights of Model's state are loaded into it.
    internal Module Model => _model;
    internal Architecture Architecture { get; }
    internal NormalizerPlan Plan { get; }
    internal DataViewSchema.Annotations LabelAnnotations { get; }
    internal ColumnNames Columns { get; }
    internal Device Device { get; }

    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckFeatures(inputSchema);
        return new DataViewSchema.Builder().AddColumns(inputSchema)
            .AddColumn(Columns.Score, new VectorDataViewType(NumberDataViewType.Single, ClassCount))
            .AddColumn(Columns.PredictedLabel, new KeyDataViewType((ulong)ClassCount), LabelAnnotations)
            .ToSchema();
    }

    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new ScoringView(this, input, CheckFeatures(input.Schema));
    }

    /// <summary>
    /// A new model with the same weights whose layers with running statistics use example weight
    /// <paramref name="alpha"/> at inference (0: running statistics only, 1: the example's own statistics). This model
    /// keeps its own alpha. No retraining: the weights are copied into a freshly built network.
    /// </summary>
    public ImageClassificationTransformer WithInferenceAlpha(double alpha)
    {
        if (!(alpha is >= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "The inference alpha must be in [0, 1] (0: running statistics, 1: the example's own).");
        ObjectDisposedException.ThrowIf(_disposed, this);
        var copy = Rebuild(Architecture, Plan, Shape, ClassCount, Device);
        try
        {
            lock (_model) copy.LoadState(_model.State().ToDictionary(s => s.Name, s => s.Value));
            NormalizationModel.SetInferenceAlpha(copy, alpha);
            return new ImageClassificationTransformer(copy, Architecture, Plan, Shape, ClassCount, LabelAnnotations, Columns, alpha, Device);
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A backbone of this architecture and plan with fresh weights, on <paramref name="device"/>. The global random
    /// generator is left as it was, so rebuilding a model does not change what a later seeded draw gives.
    /// </summary>
    internal static Module Rebuild(Architecture architecture, NormalizerPlan plan, ImageShape shape, int classCount, Device device)
    {
        using var rngState = Torch.GetRngState();
        try
        {
            return Backbone.Create(architecture, shape, classCount, plan).To(device);
        }
        finally
        {
            Torch.SetRngState(rngState);
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

    /// <summary>Softmax probabilities, row-major [count, classes], of <paramref name="count"/> standardized images.</summary>
    private float[] Score(ReadOnlySpan<float> images, int count)
    {
        lock (_model)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var noGrad = Torch.NoGrad();
            using var scope = Torch.NewDisposeScope();
            var input = Tensor.FromSpan(images, [count, Shape.Channels, Shape.Height, Shape.Width], Device);
            return Functional.Softmax(_model.Forward(input), 1).To(ScalarType.Float32, Device.Cpu).ToArray<float>();
        }
    }

    private DataViewSchema.Column CheckFeatures(DataViewSchema schema)
    {
        var column = schema.Require(Columns.Features, "ImageClassifierWithNorm model");
        var expected = new VectorDataViewType(NumberDataViewType.Single, Shape.Channels, Shape.Height, Shape.Width);
        if (!column.Type.Equals(expected))
            throw new ArgumentOutOfRangeException(nameof(schema),
                $"ImageClassifierWithNorm model: the features column '{column.Name}' is {column.Type}, but the model was trained on {expected}; " +
                $"prepare it as for training (LoadImages, ResizeImages to {Shape.Width}x{Shape.Height}, ExtractPixels with the same mean and std).");
        return column;
    }

    /// <summary>
    /// The input plus the two output columns. A cursor that reads them opens a second cursor over the input that
    /// reads only the features, <see cref="BatchSize"/> rows ahead, so that the network sees batches while the
    /// first cursor serves the input's own columns row by row; the input must give the same rows to both.
    /// </summary>
    private sealed class ScoringView : IDataView
    {
        private readonly ImageClassificationTransformer _model;
        private readonly IDataView _source;
        private readonly DataViewSchema.Column _features;

        public ScoringView(ImageClassificationTransformer model, IDataView source, DataViewSchema.Column features)
        {
            _model = model;
            _source = source;
            _features = features;
            Schema = model.GetOutputSchema(source.Schema);
        }

        public DataViewSchema Schema { get; }

        public bool CanShuffle => false;

        public long? GetRowCount() => _source.GetRowCount();

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        {
            var active = Schema.ToActiveFlags(columnsNeeded);
            var outputs = _source.Schema.Count;
            var main = _source.GetRowCursor(_source.Schema.Where(c => active[c.Index]));
            if (!active[outputs] && !active[outputs + 1]) return new Cursor(this, active, main, null);
            try
            {
                return new Cursor(this, active, main, _source.GetRowCursor([_features]));
            }
            catch
            {
                main.Dispose();
                throw;
            }
        }

        private sealed class Cursor : DataViewRowCursor
        {
            private readonly ScoringView _view;
            private readonly bool[] _active;
            private readonly DataViewRowCursor _main;
            private readonly DataViewRowCursor? _ahead;
            private readonly ValueGetter<float[]>? _getFeatures;
            private readonly float[] _images;
            private float[] _probabilities = [];
            private int _buffered;
            private int _next;
            private int _current;

            public Cursor(ScoringView view, bool[] active, DataViewRowCursor main, DataViewRowCursor? ahead)
            {
                _view = view;
                _active = active;
                _main = main;
                _ahead = ahead;
                _getFeatures = ahead?.GetGetter<float[]>(view._features);
                _images = ahead is null ? [] : new float[BatchSize * view._model.Shape.ElementCount];
            }

            public override DataViewSchema Schema => _view.Schema;

            public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

            protected override bool MoveNextCore()
            {
                if (!_main.MoveNext())
                {
                    if (_ahead is not null && (_next < _buffered || _ahead.MoveNext())) throw Mismatch();
                    return false;
                }
                if (_ahead is null) return true;
                if (_next == _buffered) Fill();
                if (_buffered == 0) throw Mismatch();
                _current = _next++;
                return true;
            }

            private void Fill()
            {
                var size = _view._model.Shape.ElementCount;
                var count = 0;
                var row = new float[size];
                while (count < BatchSize && _ahead!.MoveNext())
                {
                    _getFeatures!(ref row);
                    row.CopyTo(_images, count * size);
                    count++;
                }
                _probabilities = count == 0 ? [] : _view._model.Score(_images.AsSpan(0, count * size), count);
                _buffered = count;
                _next = 0;
            }

            private InvalidOperationException Mismatch() => new(
                $"ImageClassifierWithNorm model: the input gave different rows to two cursors over it (at row {Position + 1}); " +
                "scoring needs an input that gives the same rows every time it is read (not a sequence that changes as it is enumerated).");

            protected override ValueGetter<TValue> GetGetterCore<TValue>(DataViewSchema.Column column)
            {
                var sourceColumns = _view._source.Schema.Count;
                if (column.Index < sourceColumns) return _main.GetGetter<TValue>(_view._source.Schema[column.Index]);
                var classes = _view._model.ClassCount;
                Delegate getter = column.Index == sourceColumns
                    ? (ValueGetter<float[]>)((ref float[] value) => VectorCopy.Into<float>(_probabilities.AsSpan(_current * classes, classes), ref value))
                    : (ValueGetter<uint>)((ref uint value) => value = (uint)ArgMax(_probabilities.AsSpan(_current * classes, classes)) + 1);
                return (ValueGetter<TValue>)getter;
            }

            protected override void Dispose(bool disposing)
            {
                _main.Dispose();
                _ahead?.Dispose();
            }
        }
    }

    /// <summary>The index of the largest value; ties go to the lower index, as the metrics count them.</summary>
    internal static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }
}

/// <summary>Reads a key column's KeyValues annotation as text, for class names.</summary>
internal static class ClassNameReader
{
    /// <summary>The key values as text (invariant culture), or null when there is no KeyValues annotation.</summary>
    public static string[]? Read(DataViewSchema.Annotations annotations)
    {
        if (!annotations.Contains(AnnotationKinds.KeyValues) || annotations.TypeOf(AnnotationKinds.KeyValues) is not VectorDataViewType vector) return null;
        return GenericCall.Invoke<string[]>(typeof(ClassNameReader), nameof(ReadTyped), vector.ItemType.RawType, null, annotations);
    }

    private static string[] ReadTyped<T>(DataViewSchema.Annotations annotations)
    {
        T[] values = [];
        annotations.GetValue(AnnotationKinds.KeyValues, ref values);
        return [.. values.Select(v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "")];
    }
}
