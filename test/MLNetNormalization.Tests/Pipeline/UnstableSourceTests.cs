using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>
/// A source that gives its rows in another order every time it is read, as a user's enumerable over a live folder or a
/// database query may: every row still gets the score of its own features, and Evaluate the accuracy of the stable
/// source. The oracle is the prediction engine, which scores one row at a time through another path.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class UnstableSourceTests(PipelineFixture fixture)
{
    [Fact]
    public void Every_row_of_a_source_that_reorders_between_reads_gets_its_own_score()
    {
        var rows = fixture.TestRows.Select((row, id) => new IdentifiedRow { Id = id, Label = row.Label, Features = row.Features }).ToList();
        var unstable = fixture.Context.Data.LoadFromEnumerable(new Reordering(rows));
        var scored = fixture.Model.Transform(unstable);

        var engine = fixture.Context.Model.CreatePredictionEngine<IdentifiedRow, ImagePrediction>(fixture.Model);
        var seen = new HashSet<int>();
        foreach (var row in fixture.Context.Data.CreateEnumerable<ScoredRow>(scored, reuseRowObject: false))
        {
            Assert.True(seen.Add(row.Id), $"row {row.Id} came twice");
            var expected = engine.Predict(rows[row.Id]);
            Assert.Equal(expected.PredictedLabel, row.PredictedLabel);
            for (var k = 0; k < expected.Score.Length; k++) Assert.Equal(expected.Score[k], row.Score[k], 1e-5f);
        }
        Assert.Equal(rows.Count, seen.Count);

        var stableMetrics = fixture.Context.MulticlassClassification.Evaluate(fixture.Scored);
        var unstableMetrics = fixture.Context.MulticlassClassification.Evaluate(scored);
        Assert.Equal(stableMetrics.MicroAccuracy, unstableMetrics.MicroAccuracy);
        Assert.Equal(stableMetrics.LogLoss, unstableMetrics.LogLoss, 1e-6);
    }

    /// <summary>The rows in a new order each time they are enumerated (a different seeded shuffle per read).</summary>
    private sealed class Reordering(IReadOnlyList<IdentifiedRow> rows) : IEnumerable<IdentifiedRow>
    {
        private int _reads;

        public IEnumerator<IdentifiedRow> GetEnumerator()
        {
            var order = rows.ToArray();
            new Random(Interlocked.Increment(ref _reads)).Shuffle(order);
            return ((IEnumerable<IdentifiedRow>)order).GetEnumerator();
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    public sealed class IdentifiedRow
    {
        public int Id { get; set; }

        public string Label { get; set; } = "";

        [VectorType(1, SyntheticImages.Side, SyntheticImages.Side)]
        public float[] Features { get; set; } = [];
    }

    public sealed class ScoredRow
    {
        public int Id { get; set; }

        public float[] Score { get; set; } = [];

        public string PredictedLabel { get; set; } = "";
    }
}
