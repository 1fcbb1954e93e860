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

    /// <param name="model">Trained, on <paramref name="device"/>; the transformer owns it, puts it in eval mode and gives its layers <paramref name="inferenceAlpha"/>.</param>
    internal ImageClassificationTransformer(nn.Module<Tensor, Tensor> model, Architecture architecture, NormalizerPlan plan, FeatureKind featureKind, ImageShape shape,
        LabelKeyValues labelKeys, ColumnNames columns, double? inferenceAlpha, Device device)
    {
        FeatureKind = featureKind;
        _model = model;
        _model.eval();
        if (inferenceAlpha is { } alpha) NormalizationModel.SetInferenceAlpha(_model, alpha);
        Architecture = architecture;
        Plan = plan;
        Shape = shape;
        LabelKeys = labelKeys;
        Columns = columns;
        InferenceAlpha = inferenceAlpha;
        Device = device;
    }

    /// <summary>The column names a model reads and writes.</summary>
    internal sealed record ColumnNames(string Label, string Features, string Score, string PredictedLabel);

    /// <summary>The input column, as for training: Vector&lt;Single&gt; of <see cref="Shape"/>'s size, or Vector&lt;Byte&gt; of encoded images.</summary>
    public string FeatureColumnName => Columns.Features;

    public string ScoreColumnName => Columns.Score;

    public string PredictedLabelColumnName => Columns.PredictedLabel;

    /// <summary>The label column the model was trained on (what evaluation compares with).</summary>
    public string LabelColumnName => Columns.Label;

    /// <summary>The input images' shape [C, H, W].</summary>
    public ImageShape Shape { get; }

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
    public double? InferenceAlpha { get; }

    /// <summary>The backbone.</summary>
    public Architecture Architecture { get; }

    /// <summary>The normalizer of its layers, as a factory string ("mn:k=2").</summary>
    public string Normalizer => Plan.Normalizer;

    // What saving a model needs to rebuild it: the backbone is rebuilt from Architecture, Plan, Shape and the class
    // count, then the weights of the network's state are loaded into it.
    internal NormalizerPlan Plan { get; }
    internal FeatureKind FeatureKind { get; }
    internal LabelKeyValues LabelKeys { get; }
    internal ColumnNames Columns { get; }
    internal Device Device { get; }

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
        var copy = Rebuild(Architecture, Plan, Shape, ClassCount, Device);
        try
        {
            lock (_model)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                copy.load_state_dict(_model.state_dict());
            }
            return new ImageClassificationTransformer(copy, Architecture, Plan, FeatureKind, Shape, LabelKeys, Columns, alpha, Device);
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
    internal static nn.Module<Tensor, Tensor> Rebuild(Architecture architecture, NormalizerPlan plan, ImageShape shape, int classCount, Device device)
    {
        using var rngState = get_rng_state();
        try
        {
            return Backbone.Create(architecture, shape, classCount, plan).to(device);
        }
        finally
        {
            set_rng_state(rngState);
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

    /// <summary>
    /// The input plus the two output columns. A cursor that reads them reads the input <see cref="BatchSize"/> rows ahead
    /// through one cursor of its own, keeping each row's values of the columns asked for beside its features, so that the
    /// network sees batches and every row gets the score of its own features, whatever order the input gives its rows in
    /// from one read to the next.
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
            var active = new bool[Schema.Count];
            foreach (var column in columnsNeeded) active[column.Index] = true;
            var inputs = _source.Schema.Count;
            var passed = _source.Schema.Where(c => active[c.Index]).ToList();
            if (!active[inputs] && !active[inputs + 1]) return new PassThroughCursor(this, active, _source.GetRowCursor(passed));
            return new ScoringCursor(this, active, passed, _source.GetRowCursor(passed.Append(_features).Distinct()));
        }

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
            [GetRowCursor(columnsNeeded, rand)];

        /// <summary>A cursor that reads no output column: the input's own cursor, row for row.</summary>
        private sealed class PassThroughCursor(ScoringView view, bool[] active, DataViewRowCursor input) : DataViewRowCursor
        {
            public override DataViewSchema Schema => view.Schema;

            public override long Position => input.Position;

            public override long Batch => input.Batch;

            public override ValueGetter<DataViewRowId> GetIdGetter() => input.GetIdGetter();

            public override bool IsColumnActive(DataViewSchema.Column column) => active[column.Index];

            public override bool MoveNext() => input.MoveNext();

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
                active[column.Index]
                    ? input.GetGetter<TValue>(view._source.Schema[column.Index])
                    : throw NotAskedFor(column);

            protected override void Dispose(bool disposing)
            {
                if (disposing) input.Dispose();
                base.Dispose(disposing);
            }
        }

        /// <summary>
        /// Reads up to <see cref="BatchSize"/> rows of the input at a time, each row's features into the batch and its
        /// values of the columns asked for (and its id) into <see cref="RowBuffer"/>s, scores the batch, then serves the
        /// buffered rows one by one.
        /// </summary>
        private sealed class ScoringCursor : DataViewRowCursor
        {
            private readonly ScoringView _view;
            private readonly bool[] _active;
            private readonly DataViewRowCursor _input;
            private readonly ImageReader _readImage;
            private readonly RowBuffer<DataViewRowId> _ids;
            private readonly Dictionary<int, RowBuffer> _values;
            private readonly float[] _images;
            private float[] _probabilities = [];
            private int _buffered;
            private int _current = -1;
            private long _position = -1;
            private bool _ended;

            public ScoringCursor(ScoringView view, bool[] active, IReadOnlyList<DataViewSchema.Column> passed, DataViewRowCursor input)
            {
                _view = view;
                _active = active;
                _input = input;
                try
                {
                    var model = view._model;
                    _readImage = ImageFeatures.CreateReader(input, view._features, model.FeatureKind, model.Shape, "data being scored");
                    _ids = new RowBuffer<DataViewRowId>(input.GetIdGetter());
                    _values = passed.ToDictionary(c => c.Index, c => RowBuffer.For(input, c));
                    _images = new float[BatchSize * model.Shape.ElementCount];
                }
                catch
                {
                    input.Dispose();
                    throw;
                }
            }

            public override DataViewSchema Schema => _view.Schema;

            public override long Position => _position;

            public override long Batch => _input.Batch;

            public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => _ids.Read(_current, ref id);

            public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

            public override bool MoveNext()
            {
                if (_ended) return false;
                if (_current + 1 == _buffered)
                {
                    Fill();
                    if (_buffered == 0)
                    {
                        _ended = true;
                        return false;
                    }
                }
                else
                {
                    _current++;
                }
                _position++;
                return true;
            }

            private void Fill()
            {
                var size = _view._model.Shape.ElementCount;
                var count = 0;
                while (count < BatchSize && _input.MoveNext())
                {
                    _readImage(_images.AsSpan(count * size, size));
                    _ids.Capture(count);
                    foreach (var buffer in _values.Values) buffer.Capture(count);
                    count++;
                }
                _probabilities = count == 0 ? [] : _view._model.Score(_images.AsSpan(0, count * size), count);
                _buffered = count;
                _current = 0;
            }

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                if (!_active[column.Index]) throw NotAskedFor(column);
                var inputs = _view._source.Schema.Count;
                if (column.Index < inputs)
                {
                    var buffer = _values[column.Index] as RowBuffer<TValue>
                        ?? throw new InvalidOperationException($"ImageClassifierWithNorm model: column '{column.Name}' holds {column.Type}, not {typeof(TValue).Name}.");
                    return (ref TValue value) => buffer.Read(_current, ref value);
                }
                var classes = _view._model.ClassCount;
                return OutputColumns.Getter<TValue>(column, column.Index == inputs, () => _probabilities.AsSpan(_current * classes, classes));
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing) _input.Dispose();
                base.Dispose(disposing);
            }
        }

        private static InvalidOperationException NotAskedFor(DataViewSchema.Column column) =>
            new($"ImageClassifierWithNorm model: column '{column.Name}' was not asked for when this cursor was made.");
    }

    /// <summary>One input column's values for the rows a <see cref="ScoringView"/> cursor has read ahead, one slot per row.</summary>
    private abstract class RowBuffer
    {
        /// <summary>A buffer of <paramref name="column"/>'s values read through <paramref name="cursor"/>.</summary>
        public static RowBuffer For(DataViewRowCursor cursor, DataViewSchema.Column column)
        {
            var type = typeof(RowBuffer<>).MakeGenericType(column.Type.RawType);
            var getter = typeof(DataViewRow).GetMethod(nameof(DataViewRow.GetGetter))!.MakeGenericMethod(column.Type.RawType).Invoke(cursor, [column])!;
            return (RowBuffer)Activator.CreateInstance(type, getter)!;
        }

        /// <summary>Reads the cursor's current row into <paramref name="slot"/>.</summary>
        public abstract void Capture(int slot);
    }

    private sealed class RowBuffer<T>(ValueGetter<T> source) : RowBuffer
    {
        // What the getters hand out is the caller's to keep: vectors are copied into the caller's buffer, text into a
        // string of its own (a cursor may reuse its text buffer for the next row).
        private static readonly Func<T, T>? OwnText = typeof(T) == typeof(ReadOnlyMemory<char>)
            ? value => (T)(object)((ReadOnlyMemory<char>)(object)value!).ToString().AsMemory()
            : null;
        private static readonly CopyInto? CopyVector = typeof(T).IsGenericType && typeof(T).GetGenericTypeDefinition() == typeof(VBuffer<>)
            ? (CopyInto)Delegate.CreateDelegate(typeof(CopyInto), typeof(RowBuffer<T>).GetMethod(nameof(CopyVBuffer), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
                .MakeGenericMethod(typeof(T).GetGenericArguments()[0]))
            : null;

        private delegate void CopyInto(in T source, ref T destination);

        private readonly T[] _values = new T[BatchSize];

        public override void Capture(int slot)
        {
            source(ref _values[slot]);
            if (OwnText is not null) _values[slot] = OwnText(_values[slot]);
        }

        /// <summary>The value of the row in <paramref name="slot"/>.</summary>
        public void Read(int slot, ref T value)
        {
            if (CopyVector is not null) CopyVector(in _values[slot], ref value);
            else value = _values[slot];
        }

        private static void CopyVBuffer<TItem>(in VBuffer<TItem> source, ref VBuffer<TItem> destination) => source.CopyTo(ref destination);
    }

    /// <summary>Scores the rows of a prediction engine one at a time, when an output column is read.</summary>
    private sealed class RowMapper : IRowToRowMapper
    {
        private readonly ImageClassificationTransformer _model;
        private readonly DataViewSchema.Column _features;

        public RowMapper(ImageClassificationTransformer model, DataViewSchema inputSchema, DataViewSchema.Column features)
        {
            _model = model;
            _features = features;
            InputSchema = inputSchema;
            OutputSchema = model.GetOutputSchema(inputSchema);
        }

        public DataViewSchema InputSchema { get; }

        public DataViewSchema OutputSchema { get; }

        /// <summary>The input columns asked for, plus the features when an output column is asked for.</summary>
        public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
        {
            var inputs = InputSchema.Count;
            var needed = dependingColumns.Where(c => c.Index < inputs).Select(c => InputSchema[c.Index]).ToList();
            if (dependingColumns.Any(c => c.Index >= inputs) && needed.All(c => c.Index != _features.Index)) needed.Add(_features);
            return needed;
        }

        public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
        {
            var active = new bool[OutputSchema.Count];
            foreach (var column in activeColumns) active[column.Index] = true;
            return new Row(this, input, active);
        }

        private sealed class Row(RowMapper mapper, DataViewRow input, bool[] active) : DataViewRow
        {
            private readonly float[] _image = new float[mapper._model.Shape.ElementCount];
            private ImageReader? _readImage;
            private float[] _probabilities = [];
            private long _scoredPosition = -1;

            public override DataViewSchema Schema => mapper.OutputSchema;

            public override long Position => input.Position;

            public override long Batch => input.Batch;

            public override ValueGetter<DataViewRowId> GetIdGetter() => input.GetIdGetter();

            public override bool IsColumnActive(DataViewSchema.Column column) => active[column.Index];

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                if (!active[column.Index])
                    throw new InvalidOperationException($"ImageClassifierWithNorm model: column '{column.Name}' was not asked for when this row was made.");
                var inputs = mapper.InputSchema.Count;
                if (column.Index < inputs) return input.GetGetter<TValue>(mapper.InputSchema[column.Index]);
                return OutputColumns.Getter<TValue>(column, column.Index == inputs, () => Probabilities());
            }

            // The input row's current example, scored once however many output getters read it.
            private ReadOnlySpan<float> Probabilities()
            {
                if (_scoredPosition != input.Position || _probabilities.Length == 0)
                {
                    _readImage ??= ImageFeatures.CreateReader(input, mapper._features, mapper._model.FeatureKind, mapper._model.Shape, "data being scored");
                    _readImage(_image);
                    _probabilities = mapper._model.Score(_image, 1);
                    _scoredPosition = input.Position;
                }
                return _probabilities;
            }
        }
    }
}
