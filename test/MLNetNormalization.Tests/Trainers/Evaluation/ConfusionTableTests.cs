using MLNetNormalization.Trainers.Evaluation;

namespace MLNetNormalization.Tests.Trainers.Evaluation;

/// <summary>The text rendering of the confusion matrix, character for character.</summary>
public class ConfusionTableTests
{
    [Fact]
    public void TheTableShowsCountsRecallAndPrecisionUnderTheClassNames()
    {
        // Same predictions as the worked example of MulticlassMetricsTests: counts [[2,1,0],[0,1,1],[0,1,0]],
        // recall 2/3, 1/2, 0 per row, precision 2/2, 1/3, 0 per column.
        var metrics = MulticlassMetricsAccumulator.Compute(
            [
                [0.75f, 0.125f, 0.125f], [0.5f, 0.25f, 0.25f], [0.25f, 0.625f, 0.125f],
                [0.25f, 0.25f, 0.5f], [0.125f, 0.75f, 0.125f], [0.25f, 0.5f, 0.25f],
            ],
            [0, 0, 0, 1, 1, 2],
            classNames: ["cat", "dog", "bird"]);

        var expected = string.Join(Environment.NewLine,
            "Confusion table",
            "          ||===========================",
            "PREDICTED ||    cat |    dog |   bird | Recall",
            "TRUTH     ||===========================",
            "      cat ||      2 |      1 |      0 | 0.6667",
            "      dog ||      0 |      1 |      1 | 0.5000",
            "     bird ||      0 |      1 |      0 | 0.0000",
            "          ||===========================",
            "Precision || 1.0000 | 0.3333 | 0.0000 |",
            "");
        Assert.Equal(expected, metrics.ConfusionMatrix.GetFormattedConfusionTable());
        Assert.Equal(["cat", "dog", "bird"], metrics.ConfusionMatrix.ClassNames);
    }

    [Fact]
    public void ColumnsWidenForLongNamesAndUndefinedRatiosShowAsNaN()
    {
        // Class 1 has no examples and is never predicted: its recall and precision are undefined.
        var metrics = MulticlassMetricsAccumulator.Compute(
            [[0.75f, 0.25f], [0.5f, 0.5f]], [0, 0], classNames: ["automobile", "b"]);

        var expected = string.Join(Environment.NewLine,
            "Confusion table",
            "           ||======================",
            "PREDICTED  || automobile |      b | Recall",
            "TRUTH      ||======================",
            "automobile ||          2 |      0 | 1.0000",
            "         b ||          0 |      0 | NaN",
            "           ||======================",
            "Precision  ||     1.0000 |    NaN |",
            "");
        Assert.Equal(expected, metrics.ConfusionMatrix.GetFormattedConfusionTable());
    }
}
