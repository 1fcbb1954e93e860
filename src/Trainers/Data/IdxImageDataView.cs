using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetNormalization.Data;

/// <summary>
/// The view <see cref="IdxData.Load"/> returns: images and labels held as bytes, turned into a text label and
/// <c>(pixel - offset) * scale</c> floats as each row is read. Read-only once built, so any number of cursors may read it at once.
/// </summary>
internal sealed class IdxImageDataView : IDataView
{
    private readonly byte[] pixels;
    private readonly byte[] labels;
    private readonly ReadOnlyMemory<char>[] labelTexts;
    private readonly int imageSize;
    private readonly float offset, scale;

    /// <param name="labelTexts">The text of each label value occurring in <paramref name="labels"/>.</param>
    public IdxImageDataView(byte[] pixels, byte[] labels, ReadOnlyMemory<char>[] labelTexts, int height, int width, float offset, float scale)
    {
        this.pixels = pixels;
        this.labels = labels;
        this.labelTexts = labelTexts;
        imageSize = height * width;
        this.offset = offset;
        this.scale = scale;
        var schema = new DataViewSchema.Builder();
        schema.AddColumn(IdxData.LabelColumn, TextDataViewType.Instance);
        schema.AddColumn(IdxData.FeaturesColumn, new VectorDataViewType(NumberDataViewType.Single, 1, height, width));
        Schema = schema.ToSchema();
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => false;

    public long? GetRowCount() => labels.Length;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, columnsNeeded);

    /// <summary>One cursor: computing a row costs too little to be worth splitting the rows among threads.</summary>
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly IdxImageDataView view;
        private readonly bool[] active;
        /// <summary>The row the cursor is on; -1 before the first and after the last, as ML.NET's Position.</summary>
        private long row = -1;
        private bool done;

        public Cursor(IdxImageDataView view, IEnumerable<DataViewSchema.Column> columnsNeeded)
        {
            this.view = view;
            active = new bool[view.Schema.Count];
            foreach (var column in columnsNeeded) active[CheckedIndex(column)] = true;
        }

        public override DataViewSchema Schema => view.Schema;

        public override long Position => row;

        /// <summary>Rows come from one cursor in one batch.</summary>
        public override long Batch => 0;

        public override bool MoveNext()
        {
            if (done) return false;
            row++;
            if (row < view.labels.Length) return true;
            (row, done) = (-1, true);
            return false;
        }

        public override bool IsColumnActive(DataViewSchema.Column column) => active[CheckedIndex(column)];

        public override ValueGetter<DataViewRowId> GetIdGetter() =>
            (ref DataViewRowId id) => id = new DataViewRowId((ulong)CurrentRow(), 0);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!IsColumnActive(column))
                throw new InvalidOperationException($"Column '{column.Name}' was not requested when this cursor was made; pass it to GetRowCursor.");
            ValueGetter<TValue>? getter = column.Name == IdxData.LabelColumn
                ? (ValueGetter<ReadOnlyMemory<char>>)GetLabel as ValueGetter<TValue>
                : (ValueGetter<VBuffer<float>>)GetFeatures as ValueGetter<TValue>;
            return getter ?? throw new InvalidOperationException(
                $"Column '{column.Name}' holds {column.Type}; its values cannot be read as {typeof(TValue).Name}.");
        }

        private void GetLabel(ref ReadOnlyMemory<char> value) => value = view.labelTexts[view.labels[CurrentRow()]];

        private void GetFeatures(ref VBuffer<float> value)
        {
            var size = view.imageSize;
            var source = view.pixels.AsSpan(checked((int)CurrentRow() * size), size);
            var editor = VBufferEditor.Create(ref value, size);
            var (offset, scale) = (view.offset, view.scale);
            // The same float arithmetic, in the same order, as ExtractPixels: (pixel - offset) * scale.
            for (var i = 0; i < size; i++) editor.Values[i] = (source[i] - offset) * scale;
            value = editor.Commit();
        }

        private long CurrentRow() =>
            row >= 0 ? row : throw new InvalidOperationException("The cursor is not on a row: call MoveNext first, and read only while it returns true.");

        private int CheckedIndex(DataViewSchema.Column column) =>
            column.Index < view.Schema.Count && view.Schema[column.Index].Name == column.Name
                ? column.Index
                : throw new ArgumentException($"Column '{column.Name}' does not belong to this IDX data view's schema.", nameof(column));
    }
}
