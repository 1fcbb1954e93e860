using MLNetNormalization.Trainers.Data;

namespace MLNetNormalization.Data;

/// <summary>
/// An IDX image file and its label file (MNIST / Fashion-MNIST format, gzipped or not) as rows of "Image"
/// (Vector&lt;Byte, H, W&gt;, the raw pixels) and "Label" (Byte, as stored). Loading reads only the two headers to
/// check them; each cursor opens both files and streams one record of each per row.
/// </summary>
internal sealed class IdxDataView : IDataView
{
    public const string ImageColumn = "Image";
    public const string LabelColumn = "Label";

    private readonly string _imagesPath;
    private readonly string _labelsPath;
    private readonly int _count;
    private readonly int _imageSize;

    public IdxDataView(string imagesPath, string labelsPath)
    {
        _imagesPath = imagesPath;
        _labelsPath = labelsPath;
        using var images = IdxReader.Open(imagesPath);
        using var labels = IdxReader.Open(labelsPath);
        CheckShapes(images.Dimensions, labels.Dimensions);
        _count = images.Dimensions[0];
        _imageSize = images.Dimensions[1] * images.Dimensions[2];
        Schema = new DataViewSchema.Builder()
            .AddColumn(ImageColumn, new VectorDataViewType(NumberDataViewType.Byte, images.Dimensions[1], images.Dimensions[2]))
            .AddColumn(LabelColumn, NumberDataViewType.Byte)
            .ToSchema();
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => false;

    public long? GetRowCount() => _count;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, Schema.ToActiveFlags(columnsNeeded));

    private void CheckShapes(int[] images, int[] labels)
    {
        if (images.Length != 3 || images[1] == 0 || images[2] == 0)
            throw new InvalidDataException($"{_imagesPath} holds an array of [{string.Join(", ", images)}]; an IDX image file holds N x H x W bytes with H, W > 0.");
        if (labels.Length != 1)
            throw new InvalidDataException($"{_labelsPath} holds an array of [{string.Join(", ", labels)}]; an IDX label file holds N bytes.");
        if (images[0] != labels[0])
            throw new InvalidDataException($"{_imagesPath} holds {images[0]} images but {_labelsPath} holds {labels[0]} labels; pass the label file that belongs to these images.");
    }

    private sealed class Cursor(IdxDataView view, bool[] active) : DataViewRowCursor
    {
        private IdxReader? _images;
        private IdxReader? _labels;
        private byte[] _image = [];
        private readonly byte[] _label = new byte[1];
        private int _row = -1;

        public override DataViewSchema Schema => view.Schema;

        public override bool IsColumnActive(DataViewSchema.Column column) => active[column.Index];

        protected override bool MoveNextCore()
        {
            if (_images is null)
            {
                // Both files are opened (and their headers checked again) only now, when rows are first read.
                _images = IdxReader.Open(view._imagesPath);
                _labels = IdxReader.Open(view._labelsPath);
                view.CheckShapes(_images.Dimensions, _labels.Dimensions);
                if (_images.Dimensions[0] != view._count)
                    throw new InvalidDataException($"{view._imagesPath} now holds {_images.Dimensions[0]} images, not the {view._count} it held when loaded; load it again.");
                _image = new byte[view._imageSize];
            }
            if (_row + 1 >= view._count) return false;
            _row++;
            // The images are read even when inactive: the stream has to move past them.
            _images.Read(_image, $"image {_row}");
            _labels!.Read(_label, $"label {_row}");
            return true;
        }

        protected override ValueGetter<TValue> GetGetterCore<TValue>(DataViewSchema.Column column)
        {
            Delegate getter = column.Index == 0
                ? (ValueGetter<byte[]>)((ref byte[] value) => VectorCopy.Into<byte>(_image, ref value))
                : (ValueGetter<byte>)((ref byte value) => value = _label[0]);
            return (ValueGetter<TValue>)getter;
        }

        protected override void Dispose(bool disposing)
        {
            _images?.Dispose();
            _labels?.Dispose();
        }
    }
}
