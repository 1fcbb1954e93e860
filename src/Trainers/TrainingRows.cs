using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetNormalization.Data;

namespace MLNetNormalization;

/// <summary>
/// The trainer's reading of an <see cref="IDataView"/>'s labeled images into an <see cref="ImageCache"/>, with the
/// diagnosis of a row that cannot be read or has no label key, and the split of a validation fraction.
/// </summary>
internal static class TrainingRows
{
    /// <summary>
    /// One pass over the label and features into a new cache (the caller disposes it). A row with key 0 (a value
    /// MapValueToKey was not fitted on) is refused, naming the row and, where the pipeline kept the original column hidden
    /// under the same name, the value; so is a row whose image cannot be read, before any training.
    /// </summary>
    public static ImageCache Read(IDataView data, DataViewSchema.Column label, DataViewSchema.Column features, FeatureKind kind, ImageShape shape,
        IReadOnlyList<string> classNames, string what)
    {
        var cache = ImageCache.Create(shape, kind, classNames);
        try
        {
            using var cursor = data.GetRowCursor([label, features]);
            var getLabel = cursor.GetGetter<uint>(label);
            var readRecord = ImageFeatures.CreateRecordReader(cursor, features, kind, shape, what);
            uint key = 0;
            var record = new byte[ImageFeatures.RecordSize(kind, shape)];
            long? keylessRow = null;
            while (true)
            {
                try
                {
                    if (!cursor.MoveNext()) break;
                    getLabel(ref key);
                    if (key == 0 || key > classNames.Count)
                    {
                        keylessRow = cursor.Position;
                        break;
                    }
                    readRecord(record);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    throw UnreadableRow(data, features, kind, shape, what, e);
                }
                // Outside the diagnosis: a full disk is no row's fault.
                cache.Append(record, (int)key - 1);
            }
            if (keylessRow is { } row)
                throw new InvalidDataException(
                    $"ImageClassifierWithNorm: row {row + 1} of the {what} has {OriginalValue(data, label, row)}in column '{label.Name}' that has no key " +
                    "(MapValueToKey was fitted on data without it); fit MapValueToKey on data that has every class (for example on the whole data set before the split, " +
                    "or with keyData), or filter those rows out.");
            return cache.Complete();
        }
        catch
        {
            cache.Dispose();
            throw;
        }
    }

    /// <summary>
    /// An error naming the row that an earlier stage of the pipeline could not produce (ML.NET's LoadImages says only
    /// "Invalid input stream contents" for a corrupt file), with the row's text columns, such as its ImagePath. Found by
    /// reading again with one cursor of one thread, so that the failure surfaces at its own row.
    /// </summary>
    private static InvalidDataException UnreadableRow(IDataView data, DataViewSchema.Column features, FeatureKind kind, ImageShape shape, string what, Exception error)
    {
        var texts = data.Schema.Where(c => !c.IsHidden && c.Type is TextDataViewType).ToList();
        try
        {
            using var cursor = data.GetRowCursorSet([features, .. texts], 1)[0];
            var readImage = ImageFeatures.CreateReader(cursor, features, kind, shape, what);
            var getTexts = texts.Select(c => cursor.GetGetter<ReadOnlyMemory<char>>(c)).ToList();
            var image = new float[shape.ElementCount];
            while (cursor.MoveNext())
            {
                try
                {
                    readImage(image);
                }
                catch (Exception rowError)
                {
                    var values = texts.Select((c, i) => { ReadOnlyMemory<char> value = default; getTexts[i](ref value); return $"{c.Name} '{value}'"; });
                    return new InvalidDataException(
                        $"ImageClassifierWithNorm: row {cursor.Position + 1} of the {what} ({string.Join(", ", values)}) could not be read into '{features.Name}': " +
                        $"{rowError.Message.TrimEnd('.')}. Replace or remove that image (or filter the row out), then fit again.", rowError);
                }
            }
        }
        catch (Exception diagnosis) when (diagnosis is not OperationCanceledException)
        {
            // The second reading failed outside a row: report the first failure as it was.
        }
        return new InvalidDataException($"ImageClassifierWithNorm: the {what} could not be read into '{features.Name}': {error.Message}", error);
    }

    // "a label value 'x' " when the column MapValueToKey replaced is still in the schema (hidden), else "a label value ".
    private static string OriginalValue(IDataView data, DataViewSchema.Column label, long position)
    {
        DataViewSchema.Column? original = data.Schema.Cast<DataViewSchema.Column?>().LastOrDefault(c => c is { } h && h.IsHidden && h.Name == label.Name && h.Index < label.Index && h.Type is PrimitiveDataViewType and not KeyDataViewType);
        if (original is null) return "a label value ";
        var column = original.Value;
        try
        {
            using var cursor = data.GetRowCursor([column]);
            var value = ValueAsText(cursor, column);
            while (cursor.MoveNext())
                if (cursor.Position == position) return $"the label value '{value()}' ";
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // The value is a courtesy in an error message: without it the message still names the row.
        }
        return "a label value ";
    }

    private static Func<string> ValueAsText(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        if (column.Type is TextDataViewType)
        {
            var getText = cursor.GetGetter<ReadOnlyMemory<char>>(column);
            return () => { ReadOnlyMemory<char> text = default; getText(ref text); return text.ToString(); };
        }
        var getter = typeof(TrainingRows).GetMethod(nameof(ValueAsTextTyped), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(column.Type.RawType).Invoke(null, [cursor, column]);
        return (Func<string>)getter!;
    }

    private static Func<string> ValueAsTextTyped<T>(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        var get = cursor.GetGetter<T>(column);
        return () => { T value = default!; get(ref value); return Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""; };
    }

    // A seeded shuffle, then the first fraction of it; at least one example on each side.
    public static (ILabeledImageSource Train, ILabeledImageSource Validation) Split(ImageCache all, double fraction, ulong seed)
    {
        var order = Enumerable.Range(0, all.Count).ToArray();
        new Random(unchecked((int)seed)).Shuffle(order);
        var held = (int)Math.Round(all.Count * fraction);
        if (held < 1 || held >= all.Count)
            throw new ArgumentException($"ImageClassifierWithNormOptions.ValidationFraction: {fraction} of {all.Count} examples leaves no validation or no training example; use more data or another fraction.");
        return (all.Subset(order[held..]), all.Subset(order[..held]));
    }
}
