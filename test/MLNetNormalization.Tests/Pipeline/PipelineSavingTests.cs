using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>
/// A pipeline saved with ml.Model.Save and loaded with ml.Model.Load: in a fresh process that makes no registration call
/// (test/ModelLoadProbe, run with dotnet), and in this one. The oracle is the saved model itself: the loaded one must
/// compute the same floats, bit for bit, and ML.NET's evaluator must then report the same metrics.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class PipelineSavingTests(PipelineFixture fixture)
{
    [Fact]
    public void A_fresh_process_loads_the_saved_pipelines_and_scores_and_evaluates_them_bit_for_bit_as_this_one()
    {
        var rows = fixture.Folder.File($"rows-{Guid.NewGuid():N}.bin");
        WriteRows(rows, fixture.TestRows);
        var plainOutput = fixture.Folder.File($"plain-{Guid.NewGuid():N}.txt");
        var alphaOutput = fixture.Folder.File($"alpha-{Guid.NewGuid():N}.txt");
        ModelLoadProbe.Run(rows, fixture.ModelPath, plainOutput, fixture.AlphaModelPath, alphaOutput);

        var plain = ModelLoadProbe.Result.Read(plainOutput);
        var alpha = ModelLoadProbe.Result.Read(alphaOutput);
        Assert.Equal(Expected(fixture.Model), plain);
        Assert.Equal(Expected(fixture.AlphaModel), alpha);
        // The two saved models compute different scores, so the alpha saved with the second one was used after loading.
        Assert.NotEqual(plain.Rows, alpha.Rows);
    }

    [Fact]
    public void A_model_loaded_in_this_process_scores_as_the_saved_one_and_its_prediction_engine_as_its_batches()
    {
        var loaded = fixture.Context.Model.Load(fixture.AlphaModelPath, out var inputSchema);
        try
        {
            Assert.Equal(fixture.Train.Schema.Select(c => (c.Name, c.Type)), inputSchema.Select(c => (c.Name, c.Type)));
            var batch = loaded.Transform(fixture.Test);
            var scores = Columns.Vectors(batch);
            Assert.Equal(Columns.Bits(Columns.Vectors(fixture.AlphaModel.Transform(fixture.Test))), Columns.Bits(scores));

            // A prediction engine scores one row at a time: exactly what a batch of that one row gives. Against the batches
            // of up to 64 rows that Transform scores, libtorch's kernels may sum in another order (matrix-vector rather
            // than matrix-matrix products), so there the floats agree to rounding and the predicted class exactly.
            var labels = Columns.Texts(batch, "PredictedLabel");
            var engine = fixture.Context.Model.CreatePredictionEngine<ImageRow, ImagePrediction>(loaded);
            for (var i = 0; i < fixture.TestRows.Count; i++)
            {
                var prediction = engine.Predict(fixture.TestRows[i]);
                var single = loaded.Transform(fixture.Context.Data.LoadFromEnumerable([fixture.TestRows[i]]));
                Assert.Equal(Columns.Bits(Columns.Vectors(single)), Columns.Bits([prediction.Score]));
                Assert.Equal(labels[i], prediction.PredictedLabel);
                for (var c = 0; c < scores[i].Length; c++)
                    Assert.True(Math.Abs(scores[i][c] - prediction.Score[c]) <= 1e-6 + 1e-5 * scores[i][c],
                        $"row {i} class {c}: the batch gave {scores[i][c]:R}, the engine {prediction.Score[c]:R}");
            }
        }
        finally
        {
            (loaded as IEnumerable<ITransformer>)?.OfType<IDisposable>().ToList().ForEach(d => d.Dispose());
        }
    }

    private ModelLoadProbe.Result Expected(ITransformer model) => ModelLoadProbe.Expected(fixture.Context, model, fixture.Test);

    // The format test/ModelLoadProbe/Program.cs reads.
    private static void WriteRows(string path, IReadOnlyList<ImageRow> rows)
    {
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(rows.Count);
        foreach (var row in rows)
        {
            writer.Write(row.Label);
            writer.Write(row.Features.Length);
            foreach (var value in row.Features) writer.Write(value);
        }
    }
}
