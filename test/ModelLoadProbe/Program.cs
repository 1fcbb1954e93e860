// Loads a model saved with ml.Model.Save in this fresh process, scores rows with it and evaluates them, writing what it
// computed with every float and double as its exact bit pattern, so that a test can compare it with the process that
// saved the model. It names nothing of MLNetNormalization: ML.NET must find the classifier's loader by itself, from the
// loader assembly named in the saved model.
//
// Usage: ModelLoadProbe <rows.bin | rows.tsv> <model.zip> <output.txt> [<model.zip> <output.txt>]...
// rows.bin (little-endian, as System.IO.BinaryWriter writes): int32 row count, then per row a string label, an int32
// feature count and that many float32 features. The features column's type (its image dimensions) is taken from the
// input schema saved with each model.
// rows.tsv: one row per line, "label<TAB>image path", for pipelines that start from ImagePath and Label (LoadImages).
// output.txt, one item per line:
//   row <index> <predicted label, as MapKeyToValue gave it> <score bits, hex, one per class>
//   metric <name> <double bits, hex>...   (MicroAccuracy, MacroAccuracy, LogLoss, LogLossReduction, PerClassLogLoss)
//   confusion <count>...                  (the confusion matrix, row by row)
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

if (args.Length < 3 || args.Length % 2 == 0)
{
    Console.Error.WriteLine("Usage: ModelLoadProbe <rows.bin> <model.zip> <output.txt> [<model.zip> <output.txt>]...");
    return 2;
}

var imagePaths = args[0].EndsWith(".tsv", StringComparison.Ordinal);
var pathRows = imagePaths ? ReadPathRows(args[0]) : [];
var rows = imagePaths ? [] : ReadRows(args[0]);
for (var i = 1; i < args.Length; i += 2)
{
    var ml = new MLContext();
    var model = ml.Model.Load(args[i], out var inputSchema);
    IDataView input;
    if (imagePaths)
    {
        input = ml.Data.LoadFromEnumerable(pathRows);
    }
    else
    {
        var definition = SchemaDefinition.Create(typeof(ProbeRow));
        definition[nameof(ProbeRow.Features)].ColumnType = inputSchema[nameof(ProbeRow.Features)].Type;
        input = ml.Data.LoadFromEnumerable(rows, definition);
    }
    var scored = model.Transform(input);
    var metrics = ml.MulticlassClassification.Evaluate(scored);

    using var output = new StreamWriter(args[i + 1]);
    var score = scored.Schema["Score"];
    var predicted = scored.Schema["PredictedLabel"];
    using (var cursor = scored.GetRowCursor([score, predicted]))
    {
        var getScore = cursor.GetGetter<VBuffer<float>>(score);
        var getPredicted = cursor.GetGetter<ReadOnlyMemory<char>>(predicted);
        VBuffer<float> scores = default;
        ReadOnlyMemory<char> label = default;
        while (cursor.MoveNext())
        {
            getScore(ref scores);
            getPredicted(ref label);
            var bits = scores.DenseValues().Select(v => BitConverter.SingleToUInt32Bits(v).ToString("X8", CultureInfo.InvariantCulture));
            output.WriteLine($"row {cursor.Position} {label} {string.Join(' ', bits)}");
        }
    }
    WriteMetric(output, nameof(metrics.MicroAccuracy), metrics.MicroAccuracy);
    WriteMetric(output, nameof(metrics.MacroAccuracy), metrics.MacroAccuracy);
    WriteMetric(output, nameof(metrics.LogLoss), metrics.LogLoss);
    WriteMetric(output, nameof(metrics.LogLossReduction), metrics.LogLossReduction);
    WriteMetric(output, nameof(metrics.PerClassLogLoss), [.. metrics.PerClassLogLoss]);
    output.WriteLine("confusion " + string.Join(' ', metrics.ConfusionMatrix.Counts.SelectMany(r => r).Select(c => c.ToString("R", CultureInfo.InvariantCulture))));
}
return 0;

static void WriteMetric(StreamWriter output, string name, params double[] values) =>
    output.WriteLine($"metric {name} {string.Join(' ', values.Select(v => BitConverter.DoubleToInt64Bits(v).ToString("X16", CultureInfo.InvariantCulture)))}");

static List<ProbeRow> ReadRows(string path)
{
    using var reader = new BinaryReader(File.OpenRead(path));
    var rows = new List<ProbeRow>();
    for (var count = reader.ReadInt32(); rows.Count < count;)
    {
        var label = reader.ReadString();
        var features = new float[reader.ReadInt32()];
        for (var j = 0; j < features.Length; j++) features[j] = reader.ReadSingle();
        rows.Add(new ProbeRow { Label = label, Features = features });
    }
    return rows;
}

static List<PathRow> ReadPathRows(string path) =>
    [.. File.ReadLines(path).Select(line => line.Split('\t')).Select(fields => new PathRow { Label = fields[0], ImagePath = fields[1] })];

/// <summary>A row of an image-folder pipeline's input: a class name and the image file.</summary>
internal sealed class PathRow
{
    public string Label { get; set; } = "";

    public string ImagePath { get; set; } = "";
}

/// <summary>A row of the probe's input: a class name and the pixels, as the model's saved input schema has them.</summary>
internal sealed class ProbeRow
{
    public string Label { get; set; } = "";

    public float[] Features { get; set; } = [];
}
