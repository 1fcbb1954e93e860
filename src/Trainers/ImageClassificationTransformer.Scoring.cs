using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetNormalization;

// Scoring: the view Transform returns and the row mapper prediction engines use, both reading a row's features and
// writing its score from the same row (OutputColumns.Getter serves both).
public sealed partial class ImageClassificationTransformer
{
    /// <summary>
    /// The input plus the two output columns. A cursor that reads them reads the input <see cref="BatchSize"/> rows ahead
    /// through one cursor of its own, keeping each row's values of the columns asked for beside its features, so that the
    /// network sees batches and every row gets the score of its own features, whatever order the input gives its rows in
    /// from one read to the next.
    /// </summary>
    private sealed partial class ScoringView : IDataView
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
