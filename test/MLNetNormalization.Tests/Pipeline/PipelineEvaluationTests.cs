namespace MLNetNormalization.Tests.Pipeline;

/// <summary>
/// The fitted pipeline evaluated with ML.NET's own evaluator, checked against metrics computed by hand from the Score
/// and Label columns of the same rows.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class PipelineEvaluationTests(PipelineFixture fixture)
{
    [Fact]
    public void Evaluate_gives_the_accuracies_and_log_loss_computed_by_hand_from_the_scores()
    {
        var metrics = fixture.Context.MulticlassClassification.Evaluate(fixture.Scored);
        var labels = Columns.Keys(fixture.Scored, "Label");
        var scores = Columns.Vectors(fixture.Scored);
        var classes = SyntheticImages.Classes.Length;
        Assert.Equal(classes * PipelineFixture.TestPerClass, labels.Count);

        // Argmax with ties to the lower index, as ML.NET's evaluator picks the predicted class.
        var predicted = scores.Select(s => Enumerable.Range(0, s.Length).Aggregate((best, i) => s[i] > s[best] ? i : best)).ToList();
        var hits = labels.Zip(predicted, (label, p) => label == p + 1).ToList();
        var microAccuracy = (double)hits.Count(h => h) / labels.Count;
        var perClassRecall = Enumerable.Range(1, classes).Select(k =>
        {
            var ofClass = labels.Select((label, i) => (label, i)).Where(x => x.label == k).ToList();
            return (double)ofClass.Count(x => hits[x.i]) / ofClass.Count;
        });
        var macroAccuracy = perClassRecall.Average();
        var logLoss = labels.Select((label, i) => -Math.Log(Math.Max(scores[i][label - 1], 1e-15))).Average();

        Assert.Equal(microAccuracy, metrics.MicroAccuracy, 12);
        Assert.Equal(macroAccuracy, metrics.MacroAccuracy, 12);
        Assert.InRange(metrics.LogLoss, logLoss - 1e-6, logLoss + 1e-6);
        // And the model learned the patterns (chance is 1/3): a pipeline that mixed up keys and classes would not.
        Assert.True(metrics.MicroAccuracy >= 0.9, $"accuracy {metrics.MicroAccuracy}");
    }

    [Fact]
    public void Scores_are_probabilities_and_PredictedLabel_is_their_argmax_as_a_class_name()
    {
        var scores = Columns.Vectors(fixture.Scored);
        var names = Columns.Texts(fixture.Scored, "PredictedLabel");
        // The classifier's own key column, before MapKeyToValue replaced it.
        var keys = Columns.Keys(fixture.Classifier.Transform(fixture.KeyedTest), "PredictedLabel");
        for (var i = 0; i < scores.Count; i++)
        {
            Assert.Equal(SyntheticImages.Classes.Length, scores[i].Length);
            Assert.All(scores[i], p => Assert.InRange(p, 0f, 1f));
            Assert.Equal(1.0, scores[i].Sum(p => (double)p), 5);
            var argmax = Array.IndexOf(scores[i], scores[i].Max());
            Assert.Equal((uint)argmax + 1, keys[i]);
            Assert.Equal(SyntheticImages.Classes[argmax], names[i]);
        }
    }
}
