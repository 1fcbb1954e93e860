using Microsoft.ML;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>Inference alpha after training (WithInferenceAlpha, TuneInferenceAlpha) and ML.NET's CrossValidate over the pipeline.</summary>
[Collection(PipelineCollection.Name)]
public sealed class InferenceAlphaAndCrossValidationTests(PipelineFixture fixture)
{
    [Fact]
    public void WithInferenceAlpha_returns_a_new_model_with_other_scores_and_leaves_the_original_as_it_was()
    {
        var before = Columns.Bits(Columns.Vectors(fixture.Classifier.Transform(fixture.KeyedTest)));
        using var perExample = fixture.Classifier.WithInferenceAlpha(1);
        var changed = Columns.Bits(Columns.Vectors(perExample.Transform(fixture.KeyedTest)));
        Assert.Equal(before, Columns.Bits(Columns.Vectors(fixture.Classifier.Transform(fixture.KeyedTest))));
        Assert.Null(fixture.Classifier.InferenceAlpha);
        Assert.Equal(1, perExample.InferenceAlpha);
        // Alpha 1 normalizes each example by its own statistics instead of the running ones: other probabilities.
        Assert.NotEqual(before, changed);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => fixture.Classifier.WithInferenceAlpha(1.5));
        Assert.Equal("alpha", error.ParamName);
        Assert.Contains("[0, 1]", error.Message);
    }

    [Fact]
    public void TuneInferenceAlpha_gives_one_result_per_alpha_in_order_and_alpha_0_is_the_trained_BN_model()
    {
        double[] alphas = [0.5, 0, 1];
        var tuned = fixture.Context.MulticlassClassification.TuneInferenceAlpha(fixture.Classifier, fixture.KeyedTest, alphas);
        Assert.Equal(alphas, tuned.Select(t => t.Alpha));
        // BN's own inference alpha is 0 (running statistics only), so alpha 0 must reproduce the trained model's metrics.
        var trained = fixture.Context.MulticlassClassification.Evaluate(fixture.Scored);
        var zero = tuned[1].Metrics;
        Assert.Equal((trained.MicroAccuracy, trained.MacroAccuracy, trained.LogLoss), (zero.MicroAccuracy, zero.MacroAccuracy, zero.LogLoss));
        Assert.NotEqual(zero.LogLoss, tuned[2].Metrics.LogLoss);
        Assert.NotEqual(tuned[0].Metrics.LogLoss, tuned[2].Metrics.LogLoss);
        Assert.Null(fixture.Classifier.InferenceAlpha);
    }

    [Fact]
    public void TuneInferenceAlpha_refuses_an_empty_validation_view_naming_it()
    {
        var empty = fixture.KeyMap.Transform(fixture.Context.Data.LoadFromEnumerable(new List<ImageRow>()));
        var error = Assert.Throws<ArgumentException>(() => fixture.Context.MulticlassClassification.TuneInferenceAlpha(fixture.Classifier, empty, [0]));
        Assert.Equal("validationData", error.ParamName);
        Assert.Contains("validationData has no rows", error.Message);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.01)]
    [InlineData(double.NaN)]
    public void TuneInferenceAlpha_refuses_an_alpha_outside_0_to_1(double alpha)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            fixture.Context.MulticlassClassification.TuneInferenceAlpha(fixture.Classifier, fixture.KeyedTest, [0, alpha]));
        Assert.Equal("alphas", error.ParamName);
        Assert.Contains("[0, 1]", error.Message);
    }

    [Fact]
    public void CrossValidate_fits_and_evaluates_the_pipeline_on_each_of_two_folds()
    {
        var options = PipelineFixture.SmallOptions();
        options.Epochs = 1;
        var (ml, train, _, pipeline) = PipelineFixture.Prepare(PipelineFixture.Seed, options);
        var results = ml.MulticlassClassification.CrossValidate(train, pipeline, numberOfFolds: 2);
        try
        {
            Assert.Equal(2, results.Count);
            Assert.Equal([0, 1], results.Select(r => r.Fold));
            // Each fold is scored on its own held-out part: together they are every training row once, and each fold's
            // metrics count exactly its held-out rows.
            var scoredRows = results.Select(r => Columns.Vectors(r.ScoredHoldOutSet).Count).ToList();
            Assert.Equal(PipelineFixture.TrainPerClass * SyntheticImages.Classes.Length, scoredRows.Sum());
            Assert.Equal(scoredRows, results.Select(r => (int)r.Metrics.ConfusionMatrix.Counts.Sum(row => row.Sum())));
            Assert.All(results, r => Assert.Equal(SyntheticImages.Classes.Length, r.Metrics.PerClassLogLoss.Count));
        }
        finally
        {
            foreach (var result in results) ((IEnumerable<ITransformer>)result.Model).OfType<IDisposable>().ToList().ForEach(d => d.Dispose());
        }
    }
}
