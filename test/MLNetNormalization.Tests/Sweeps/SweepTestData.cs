using MLNetNormalization.Sweeps;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetNormalization.Backbones;

namespace MLNetNormalization.Tests.Sweeps;

/// <summary>
/// Tiny Fashion-MNIST views for sweeps: the first rows of the 10,000 test images (standardized as ExtractPixels would, label
/// keys from a MapValueToKey fitted on all of them), LeNet in batches of 32 with no augmentation, so a trial's epoch takes
/// well under a second on two cores.
/// </summary>
internal static class SweepTestData
{
    public const int TrainRows = 320, ValidationRows = 160;

    public static (MLContext Ml, IDataView Train, IDataView Validation) Load(int seed = 1)
    {
        var ml = new MLContext(seed);
        var all = FashionMnistData.LoadTest(ml, offsetImage: FashionMnistData.StandardizingOffset, scaleImage: FashionMnistData.StandardizingScale);
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(all).Transform(all);
        var train = ml.Data.TakeRows(keyed, TrainRows);
        var validation = ml.Data.TakeRows(ml.Data.SkipRows(keyed, TrainRows), ValidationRows);
        return (ml, train, validation);
    }

    public static ImageClassifierWithNormOptions BaseOptions() => new()
    {
        Architecture = Architecture.LeNet, BatchSize = 32, CropPadding = 0, HorizontalFlip = false,
    };

    /// <summary>The fraction of rows whose PredictedLabel key equals their Label key, counted row by row (not ML.NET's Evaluate).</summary>
    public static double CountedAccuracy(ITransformer model, IDataView data)
    {
        var scored = model.Transform(data);
        using var cursor = scored.GetRowCursor(scored.Schema);
        var label = cursor.GetGetter<uint>(scored.Schema["Label"]);
        var predicted = cursor.GetGetter<uint>(scored.Schema["PredictedLabel"]);
        uint l = 0, p = 0;
        int rows = 0, right = 0;
        while (cursor.MoveNext())
        {
            label(ref l);
            predicted(ref p);
            rows++;
            if (l == p) right++;
        }
        return (double)right / rows;
    }

    /// <summary>Collects progress reports synchronously (Progress&lt;T&gt; would post them to the thread pool).</summary>
    public sealed class Recorder : IProgress<NormalizerSweepProgress>
    {
        public List<NormalizerSweepProgress> Reports { get; } = [];

        public void Report(NormalizerSweepProgress value) => Reports.Add(value);

        public IEnumerable<int> Indices(NormalizerSweepProgressKind kind) => Reports.Where(r => r.Kind == kind).Select(r => r.TrialIndex);
    }
}
