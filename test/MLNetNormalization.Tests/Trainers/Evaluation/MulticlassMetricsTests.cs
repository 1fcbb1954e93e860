using MLNetNormalization.Trainers.Evaluation;

namespace MLNetNormalization.Tests.Trainers.Evaluation;

/// <summary>
/// Multiclass metrics against values worked out by hand. The probabilities are dyadic fractions (exact in float),
/// so every expected value below is a closed form in ln 2 and ln 3 and the tolerance can be tight.
/// </summary>
public class MulticlassMetricsTests
{
    private const double Tolerance = 1e-12;
    private static readonly double Ln2 = Math.Log(2), Ln3 = Math.Log(3);

    // The worked example: 3 classes, 6 examples (class sizes 3, 2, 1).
    //
    //  ex  label  p(0)   p(1)   p(2)   predicted  p(true)  rank of true class (ties: lower index first)
    //  0   0      0.75   0.125  0.125  0          0.75     0
    //  1   0      0.5    0.25   0.25   0          0.5      0
    //  2   0      0.25   0.625  0.125  1          0.25     1
    //  3   1      0.25   0.25   0.5    2          0.25     2  (class 2 is higher; class 0 ties and has the lower index)
    //  4   1      0.125  0.75   0.125  1          0.75     0
    //  5   2      0.25   0.5    0.25   1          0.25     2  (class 1 is higher; class 0 ties and has the lower index)
    private static readonly float[][] WorkedProbabilities =
    [
        [0.75f, 0.125f, 0.125f],
        [0.5f, 0.25f, 0.25f],
        [0.25f, 0.625f, 0.125f],
        [0.25f, 0.25f, 0.5f],
        [0.125f, 0.75f, 0.125f],
        [0.25f, 0.5f, 0.25f],
    ];
    private static readonly int[] WorkedLabels = [0, 0, 0, 1, 1, 2];

    private static MulticlassClassificationMetrics WorkedMetrics(int topK = 3) =>
        MulticlassMetricsAccumulator.Compute(WorkedProbabilities, WorkedLabels, topK);

    [Fact]
    public void WorkedExampleConfusionMatrixCountsPrecisionAndRecall()
    {
        var matrix = WorkedMetrics().ConfusionMatrix;

        // Rows = true class, columns = predicted class, from the "label" and "predicted" columns above.
        Assert.Equal(3, matrix.NumberOfClasses);
        Assert.Equal(new double[] { 2, 1, 0 }, matrix.Counts[0]);
        Assert.Equal(new double[] { 0, 1, 1 }, matrix.Counts[1]);
        Assert.Equal(new double[] { 0, 1, 0 }, matrix.Counts[2]);
        // GetCountForClassPair takes the predicted class first: true 0 predicted as 1 happened once, the reverse never.
        Assert.Equal(1, matrix.GetCountForClassPair(predictedClassIndex: 1, actualClassIndex: 0));
        Assert.Equal(0, matrix.GetCountForClassPair(predictedClassIndex: 0, actualClassIndex: 1));

        // Precision = diagonal / column sum: 2/(2+0+0), 1/(1+1+1), 0/(0+1+0).
        AssertClose([1, 1.0 / 3, 0], matrix.PerClassPrecision);
        // Recall = diagonal / row sum: 2/3, 1/2, 0/1.
        AssertClose([2.0 / 3, 1.0 / 2, 0], matrix.PerClassRecall);
        Assert.Equal(["0", "1", "2"], matrix.ClassNames);
    }

    [Fact]
    public void WorkedExampleMicroAndMacroAccuracy()
    {
        var metrics = WorkedMetrics();

        Assert.Equal(6, metrics.NumberOfExamples);
        // Micro: 3 of 6 examples correct (0, 1, 4).
        Assert.Equal(0.5, metrics.MicroAccuracy, Tolerance);
        // Macro: mean of the recalls (2/3 + 1/2 + 0) / 3 = 7/18 ≈ 0.3889, below micro because the small class 2 is always wrong.
        Assert.Equal(7.0 / 18, metrics.MacroAccuracy, Tolerance);
    }

    [Fact]
    public void WorkedExampleLogLossAndLogLossReduction()
    {
        var metrics = WorkedMetrics();

        // -ln p(true) per example: ln(4/3), ln 2, ln 4, ln 4, ln(4/3), ln 4, so
        // LogLoss = (2 ln(4/3) + ln 2 + 3 ln 4) / 6 = (2 ln(4/3) + 7 ln 2) / 6 ≈ 0.904566.
        var logLoss = (2 * Math.Log(4.0 / 3) + 7 * Ln2) / 6;
        Assert.Equal(logLoss, metrics.LogLoss, Tolerance);

        // Prior log loss = entropy of the label frequencies 1/2, 1/3, 1/6:
        // (1/2) ln 2 + (1/3) ln 3 + (1/6) ln 6 ≈ 1.011404; reduction = (prior - LogLoss) / prior ≈ 0.105634.
        var prior = Ln2 / 2 + Ln3 / 3 + (Ln2 + Ln3) / 6;
        Assert.Equal((prior - logLoss) / prior, metrics.LogLossReduction, Tolerance);
        Assert.Equal(0.10563385347638622, metrics.LogLossReduction, 1e-12);
    }

    [Fact]
    public void WorkedExamplePerClassLogLoss()
    {
        var metrics = WorkedMetrics();

        // Class 0: (ln(4/3) + ln 2 + ln 4) / 3 ≈ 0.789041; class 1: (ln 4 + ln(4/3)) / 2 ≈ 0.836988; class 2: ln 4 ≈ 1.386294.
        AssertClose(
            [(Math.Log(4.0 / 3) + 3 * Ln2) / 3, (2 * Ln2 + Math.Log(4.0 / 3)) / 2, 2 * Ln2],
            metrics.PerClassLogLoss);
    }

    [Fact]
    public void WorkedExampleTopKAccuracyForEveryK()
    {
        var metrics = WorkedMetrics(topK: 3);

        // Ranks of the true class: 0, 0, 1, 2, 0, 2. Top-1: 3/6; top-2: 4/6 (examples 3 and 5 lose their ties
        // to lower class indices; a tie rule in their favour would give 6/6); top-3: 6/6.
        Assert.Equal(3, metrics.TopKPredictionCount);
        AssertClose([3.0 / 6, 4.0 / 6, 1], metrics.TopKAccuracyForAllK);
        Assert.Equal(1, metrics.TopKAccuracy, Tolerance);

        var topTwo = WorkedMetrics(topK: 2);
        AssertClose([3.0 / 6, 4.0 / 6], topTwo.TopKAccuracyForAllK);
        Assert.Equal(4.0 / 6, topTwo.TopKAccuracy, Tolerance);
    }

    [Fact]
    public void TiesForTheHighestProbabilityPredictTheLowerClassIndex()
    {
        var accumulator = new MulticlassMetricsAccumulator(3, topKPredictionCount: 2);
        // Classes 0 and 1 tie at 0.375: the prediction is class 0, so a class-1 example is wrong at top-1
        // (rank 1) and right at top-2, and a class-0 example is right.
        accumulator.Add([0.375f, 0.375f, 0.25f], 1);
        accumulator.Add([0.375f, 0.375f, 0.25f], 0);
        var metrics = accumulator.Compute();

        Assert.Equal(new double[] { 1, 0, 0 }, metrics.ConfusionMatrix.Counts[0]);
        Assert.Equal(new double[] { 1, 0, 0 }, metrics.ConfusionMatrix.Counts[1]);
        Assert.Equal(0.5, metrics.MicroAccuracy, Tolerance);
        AssertClose([0.5, 1], metrics.TopKAccuracyForAllK);
    }

    [Fact]
    public void AClassWithoutExamplesIsLeftOutOfMacroAccuracyAndHasNaNLogLossAndRecall()
    {
        // 3 classes, labels only 0 and 1:
        //  label 0, (0.5, 0.25, 0.25): predicted 0, -ln p = ln 2
        //  label 0, (0.25, 0.25, 0.5): predicted 2, -ln p = ln 4
        //  label 1, (0.25, 0.5, 0.25): predicted 1, -ln p = ln 2
        var metrics = MulticlassMetricsAccumulator.Compute(
            [[0.5f, 0.25f, 0.25f], [0.25f, 0.25f, 0.5f], [0.25f, 0.5f, 0.25f]], [0, 0, 1]);

        Assert.Equal(2.0 / 3, metrics.MicroAccuracy, Tolerance);
        // Recalls 1/2 and 1 averaged over the 2 classes present: 3/4 (dividing by all 3 classes would give 1/2).
        Assert.Equal(0.75, metrics.MacroAccuracy, Tolerance);
        Assert.Equal(4 * Ln2 / 3, metrics.LogLoss, Tolerance);
        Assert.Equal(3 * Ln2 / 2, metrics.PerClassLogLoss[0], Tolerance);
        Assert.Equal(Ln2, metrics.PerClassLogLoss[1], Tolerance);
        Assert.True(double.IsNaN(metrics.PerClassLogLoss[2]));
        // Class 2 was predicted once, wrongly: precision 0; it has no examples: recall NaN.
        Assert.Equal(0, metrics.ConfusionMatrix.PerClassPrecision[2]);
        Assert.True(double.IsNaN(metrics.ConfusionMatrix.PerClassRecall[2]));

        // Prior: frequencies 2/3, 1/3, entropy ln 3 - (2/3) ln 2 ≈ 0.636514; the model (0.924196) is worse than the
        // prior, so the reduction is negative: ≈ -0.451974.
        var prior = Ln3 - 2 * Ln2 / 3;
        Assert.Equal((prior - 4 * Ln2 / 3) / prior, metrics.LogLossReduction, Tolerance);
        Assert.True(metrics.LogLossReduction < 0);
    }

    [Fact]
    public void PerfectPredictionsScoreOneAndZeroLoss()
    {
        var accumulator = new MulticlassMetricsAccumulator(3, topKPredictionCount: 1);
        accumulator.Add([0, 1, 0], 1);
        accumulator.Add([0, 0, 1], 2);
        // A float softmax can round the winning probability one ulp above 1; the clamp to 1 keeps its loss at 0
        // instead of a negative -ln(1.00000012).
        accumulator.Add([MathF.BitIncrement(1f), 0, 0], 0);
        var metrics = accumulator.Compute();

        Assert.Equal(1, metrics.MicroAccuracy);
        Assert.Equal(1, metrics.MacroAccuracy);
        Assert.Equal(0, metrics.LogLoss);
        Assert.Equal(new double[] { 0, 0, 0 }, metrics.PerClassLogLoss);
        Assert.Equal(1, metrics.LogLossReduction);
        Assert.Equal(1, metrics.TopKAccuracy);
        Assert.Equal(new double[] { 1, 1, 1 }, metrics.ConfusionMatrix.PerClassPrecision);
    }

    [Fact]
    public void AZeroProbabilityForTheTrueClassIsClampedToTheFloor()
    {
        var accumulator = new MulticlassMetricsAccumulator(3);
        accumulator.Add([0, 1, 0], 0);
        accumulator.Add([0.5f, 0.5f, 0], 1);
        var metrics = accumulator.Compute();

        // p = 0 is clamped to float(1e-15) = 1.0000000036274937e-15, so -ln p = 15 ln 10 - ln(1.0000000036274937)
        // = 34.538776394910684 - 0.0000000036274937 = 34.538776391283.
        const double clampedLoss = 34.53877639128319;
        Assert.Equal(clampedLoss, metrics.PerClassLogLoss[0], 1e-9);
        Assert.Equal((clampedLoss + Ln2) / 2, metrics.LogLoss, 1e-9);
        Assert.Equal(1e-15f, MulticlassMetricsAccumulator.ProbabilityFloor);
    }

    [Fact]
    public void LogLossReductionIsNaNWhenEveryLabelIsTheSameClass()
    {
        // The prior predicts that class with probability 1, so its log loss is 0 and the ratio is undefined.
        var metrics = MulticlassMetricsAccumulator.Compute([[0.75f, 0.25f], [0.5f, 0.5f]], [0, 0]);

        Assert.True(double.IsNaN(metrics.LogLossReduction));
        Assert.Equal((Math.Log(4.0 / 3) + Ln2) / 2, metrics.LogLoss, Tolerance);
    }

    [Fact]
    public void WithoutTopKTheTopKAccuracyIsNaNAndTheListIsEmpty()
    {
        var metrics = WorkedMetrics(topK: 0);

        Assert.Equal(0, metrics.TopKPredictionCount);
        Assert.Empty(metrics.TopKAccuracyForAllK);
        Assert.True(double.IsNaN(metrics.TopKAccuracy));
    }

    [Fact]
    public void BatchesExamplesAndTheWholeSetGiveTheSameMetrics()
    {
        const int classes = 5, examples = 50;
        var random = new Random(7);
        var probabilities = new float[examples][];
        var labels = new int[examples];
        for (var i = 0; i < examples; i++)
        {
            var exps = Enumerable.Range(0, classes).Select(_ => Math.Exp(3 * random.NextDouble())).ToArray();
            probabilities[i] = exps.Select(e => (float)(e / exps.Sum())).ToArray();
            labels[i] = random.Next(classes);
        }

        var oneByOne = new MulticlassMetricsAccumulator(classes, topKPredictionCount: 3);
        for (var i = 0; i < examples; i++) oneByOne.Add(probabilities[i], labels[i]);

        var batched = new MulticlassMetricsAccumulator(classes, topKPredictionCount: 3);
        var start = 0;
        foreach (var size in new[] { 7, 13, 1, 29 })
        {
            var rowMajor = probabilities.Skip(start).Take(size).SelectMany(row => row).ToArray();
            var batchLabels = labels.Skip(start).Take(size).Select(label => (long)label).ToArray();
            batched.Add(rowMajor, batchLabels);
            start += size;
        }
        Assert.Equal(examples, start);

        var expected = oneByOne.Compute();
        AssertSameMetrics(expected, batched.Compute());
        AssertSameMetrics(expected, MulticlassMetricsAccumulator.Compute(probabilities, labels, topKPredictionCount: 3));
        Assert.Equal(examples, expected.NumberOfExamples);
    }

    [Fact]
    public void ABadBatchLeavesTheAccumulatorUnchanged()
    {
        var accumulator = new MulticlassMetricsAccumulator(3, topKPredictionCount: 2);
        accumulator.Add(WorkedProbabilities.SelectMany(row => row).ToArray(), WorkedLabels.Select(label => (long)label).ToArray());

        // The second example's label is out of range: the valid first example must not be added either.
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            accumulator.Add([1f, 0, 0, 0, 1f, 0], [0L, 3L]));
        Assert.Contains("example 1 of the batch", error.Message);

        Assert.Equal(6, accumulator.NumberOfExamples);
        AssertSameMetrics(WorkedMetrics(topK: 2), accumulator.Compute());
    }

    [Fact]
    public void ComputingAgainAfterMoreExamplesIncludesThem()
    {
        var accumulator = new MulticlassMetricsAccumulator(3, topKPredictionCount: 3);
        for (var i = 0; i < 3; i++) accumulator.Add(WorkedProbabilities[i], WorkedLabels[i]);
        Assert.Equal(2.0 / 3, accumulator.Compute().MicroAccuracy, Tolerance);
        for (var i = 3; i < 6; i++) accumulator.Add(WorkedProbabilities[i], WorkedLabels[i]);

        AssertSameMetrics(WorkedMetrics(), accumulator.Compute());
    }

    private static void AssertSameMetrics(MulticlassClassificationMetrics expected, MulticlassClassificationMetrics actual)
    {
        Assert.Equal(expected.NumberOfExamples, actual.NumberOfExamples);
        Assert.Equal(expected.MicroAccuracy, actual.MicroAccuracy);
        Assert.Equal(expected.MacroAccuracy, actual.MacroAccuracy);
        Assert.Equal(expected.LogLoss, actual.LogLoss);
        Assert.Equal(expected.LogLossReduction, actual.LogLossReduction);
        Assert.Equal(expected.TopKPredictionCount, actual.TopKPredictionCount);
        Assert.Equal(expected.TopKAccuracyForAllK, actual.TopKAccuracyForAllK);
        Assert.Equal(expected.PerClassLogLoss, actual.PerClassLogLoss);
        Assert.Equal(expected.ConfusionMatrix.Counts, actual.ConfusionMatrix.Counts);
    }

    internal static void AssertClose(double[] expected, IReadOnlyList<double> actual)
    {
        Assert.Equal(expected.Length, actual.Count);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tolerance, $"Entry {i}: expected {expected[i]:R}, got {actual[i]:R}.");
    }
}
