using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetNormalization.Sweeps;
using MLNetNormalization.Tests.Support;

namespace MLNetNormalization.Tests.Sweeps;

/// <summary>A sweep reads (and so decodes) its training images once, whatever its number of trials.</summary>
[Collection(TestCollections.GlobalRandom)]
public sealed class SweepReadsOnceTests
{
    [Fact]
    public void ThreeTrialsReadTheTrainingImagesOnce()
    {
        var (ml, train, validation) = SweepTestData.Load();
        var counted = new FeatureReadCountingView(train);
        var settings = new NormalizerSweepSettings
        {
            BaseOptions = SweepTestData.BaseOptions(),
            SearchSpace = new NormalizerSearchSpace { Normalizers = [NormalizerKind.BatchNorm], LearningRates = [0.02, 0.05, 0.1], Epochs = [1] },
            Strategy = SweepStrategy.Grid,
            InferenceAlphas = [0],
        };
        using var result = ml.MulticlassClassification.CreateNormalizerSweep(settings).Execute(counted, validation);

        Assert.Equal(3, result.Trials.Count);
        Assert.Equal(SweepTestData.TrainRows, counted.FeatureRowsRead);
    }

    /// <summary>A view that counts the rows its cursors move to with the Features column active.</summary>
    private sealed class FeatureReadCountingView(IDataView inner) : IDataView
    {
        private long _featureRowsRead;

        public long FeatureRowsRead => Interlocked.Read(ref _featureRowsRead);

        public bool CanShuffle => inner.CanShuffle;

        public DataViewSchema Schema => inner.Schema;

        public long? GetRowCount() => inner.GetRowCount();

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        {
            var columns = columnsNeeded.ToList();
            return new Cursor(this, inner.GetRowCursor(columns, rand), columns.Any(c => c.Name == "Features"));
        }

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
            [GetRowCursor(columnsNeeded, rand)];

        private sealed class Cursor(FeatureReadCountingView view, DataViewRowCursor inner, bool counts) : DataViewRowCursor
        {
            public override DataViewSchema Schema => inner.Schema;

            public override long Position => inner.Position;

            public override long Batch => inner.Batch;

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => inner.GetGetter<TValue>(column);

            public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();

            public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(column);

            public override bool MoveNext()
            {
                if (!inner.MoveNext()) return false;
                if (counts) Interlocked.Increment(ref view._featureRowsRead);
                return true;
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing) inner.Dispose();
                base.Dispose(disposing);
            }
        }
    }
}
