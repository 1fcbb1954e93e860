using Microsoft.ML;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>
/// The model read from several threads at once, as the transformer allows: views and prediction engines (one per
/// thread, as ML.NET's engines are not thread-safe) give exactly what they give on one thread. The forward passes are
/// serialized on the network; the same rows in the same batches must give the same floats.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class PipelineConcurrencyTests(PipelineFixture fixture)
{
    private const int Threads = 8;

    [Fact]
    public void Views_read_from_several_threads_at_once_give_the_single_threaded_scores()
    {
        var expected = Columns.Bits(Columns.Vectors(fixture.Scored));
        var results = new uint[Threads][];
        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads },
            t => results[t] = Columns.Bits(Columns.Vectors(fixture.Model.Transform(fixture.Test))));
        Assert.All(results, result => Assert.Equal(expected, result));
    }

    [Fact]
    public void Prediction_engines_on_several_threads_at_once_give_the_single_threaded_predictions()
    {
        var rows = fixture.TestRows;
        var single = fixture.Context.Model.CreatePredictionEngine<ImageRow, ImagePrediction>(fixture.Model);
        var expected = rows.Select(r => single.Predict(r)).ToList();
        var results = new List<ImagePrediction>[Threads];
        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, t =>
        {
            var engine = fixture.Context.Model.CreatePredictionEngine<ImageRow, ImagePrediction>(fixture.Model);
            results[t] = [.. rows.Select(r => engine.Predict(r))];
        });
        foreach (var result in results)
        {
            Assert.Equal(Columns.Bits(expected.Select(p => p.Score)), Columns.Bits(result.Select(p => p.Score)));
            Assert.Equal(expected.Select(p => p.PredictedLabel), result.Select(p => p.PredictedLabel));
        }
    }
}
