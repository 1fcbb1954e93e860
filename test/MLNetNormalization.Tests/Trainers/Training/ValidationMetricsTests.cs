using MLNetNormalization.Training;

namespace MLNetNormalization.Tests.Trainers.Training;

/// <summary>
/// The engine's validation metrics against numbers worked out by hand. The probabilities are dyadic fractions (exact in
/// float), so each expected value is a closed form in logarithms and the tolerance can be tight.
/// </summary>
public sealed class ValidationMetricsTests
{
    private const double Tolerance = 1e-14;

    // 3 examples, 3 classes:
    //  ex  label  p(0)    p(1)    p(2)   predicted  correct  -ln p(true)
    //  0   0      0.5     0.25    0.25   0          yes      ln 2
    //  1   0      0.25    0.5     0.25   1          no       ln 4
    //  2   2      0.125   0.125   0.75   2          yes      ln 4/3
    private static readonly float[] WorkedProbabilities = [0.5f, 0.25f, 0.25f, 0.25f, 0.5f, 0.25f, 0.125f, 0.125f, 0.75f];
    private static readonly long[] WorkedLabels = [0, 0, 2];

    private static ValidationMetrics Metrics(int classes, float[] probabilities, long[] labels)
    {
        var accumulator = new ValidationMetricsAccumulator(classes);
        accumulator.Add(probabilities, labels);
        return accumulator.ToMetrics();
    }

    // (ln 2 + ln 4 + ln 4/3) / 3 = ln(32/3) / 3.
    private const double WorkedLogLoss = 0.7890412047105388;

    [Fact]
    public void WorkedExampleGivesTwoThirdsAccuracyAndTheMeanNegativeLogOfTheTrueClassProbability()
    {
        var metrics = Metrics(3, WorkedProbabilities, WorkedLabels);

        Assert.Equal(3, metrics.Count);
        Assert.Equal(2.0 / 3, metrics.MicroAccuracy, Tolerance);
        Assert.Equal(WorkedLogLoss, metrics.LogLoss, Tolerance);
    }

    [Fact]
    public void BatchesAddUpToTheMetricsOfTheWholeSet()
    {
        // Example by example, as the ML.NET-style Evaluate feeds rows: the means are over all examples, not over batches.
        var accumulator = new ValidationMetricsAccumulator(3);
        for (var i = 0; i < WorkedLabels.Length; i++)
            accumulator.Add(WorkedProbabilities.AsSpan(3 * i, 3), WorkedLabels.AsSpan(i, 1));

        var metrics = accumulator.ToMetrics();
        Assert.Equal(3, metrics.Count);
        Assert.Equal(2.0 / 3, metrics.MicroAccuracy, Tolerance);
        Assert.Equal(WorkedLogLoss, metrics.LogLoss, Tolerance);
    }

    [Fact]
    public void AZeroProbabilityForTheTrueClassCostsMinusLnOfTheFloatFloorNotInfinity()
    {
        // The true class 1 gets probability 0: ML.NET clamps it to (float)1e-15 before the log. The second example is
        // certain and right, so the mean is half the clamped loss.
        var metrics = Metrics(3, [1f, 0f, 0f, 0f, 0f, 1f], [1, 2]);

        // The float 1e-15 is 1.0000000036274937e-15, and -ln of it is 34.53877639128319 (-ln 1e-15 would be 34.5387763949).
        Assert.Equal(34.53877639128319 / 2, metrics.LogLoss, Tolerance);
        Assert.Equal(0.5, metrics.MicroAccuracy);
    }

    [Fact]
    public void AProbabilityRoundedAboveOneCostsNothingRatherThanANegativeLoss()
    {
        // A float softmax can round the winning class just above 1; ML.NET clamps it to 1, whose -ln is 0.
        var aboveOne = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(1f) + 1);
        var metrics = Metrics(2, [aboveOne, 0f], [0]);

        Assert.Equal(0.0, metrics.LogLoss);
        Assert.Equal(1.0, metrics.MicroAccuracy);
    }

    [Fact]
    public void ATieForTheHighestProbabilityGoesToTheLowerClassIndex()
    {
        // Classes 1 and 2 tie at 0.375: class 1 is predicted, so the example labelled 1 is right and the one labelled 2 wrong.
        Assert.Equal(1.0, Metrics(3, [0.25f, 0.375f, 0.375f], [1]).MicroAccuracy);
        Assert.Equal(0.0, Metrics(3, [0.25f, 0.375f, 0.375f], [2]).MicroAccuracy);
    }

    [Fact]
    public void ARefusedBatchLeavesTheAccumulatorAsItWas()
    {
        var accumulator = new ValidationMetricsAccumulator(3);
        accumulator.Add(WorkedProbabilities, WorkedLabels);
        var before = accumulator.ToMetrics();

        // The first example is fine, the second has label 3 of 3 classes: nothing of the batch may count.
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => accumulator.Add([1f, 0f, 0f, 1f, 0f, 0f], [0, 3]));
        Assert.Equal("labels", error.ParamName);
        Assert.Contains("[0, 2]", error.Message);
        Assert.Equal(before, accumulator.ToMetrics());
    }

    [Fact]
    public void ProbabilitiesThatAreNotOneRowPerLabelOrNotProbabilitiesAreRefusedNamingTheProblem()
    {
        var accumulator = new ValidationMetricsAccumulator(3);
        var length = Assert.Throws<ArgumentException>(() => accumulator.Add([0.5f, 0.5f, 0f, 1f], [0, 1]));
        Assert.Contains("2 × 3 = 6", length.Message);
        var negative = Assert.Throws<ArgumentException>(() => accumulator.Add([1.5f, -0.5f, 0f], [0]));
        Assert.Contains("logits", negative.Message);
        var logits = Assert.Throws<ArgumentException>(() => accumulator.Add([2f, 1f, 0.5f], [0]));
        Assert.Contains("sum to 3.5", logits.Message);
        var diverged = Assert.Throws<ArgumentException>(() => accumulator.Add([float.NaN, 0.5f, 0.5f], [0]));
        Assert.Contains("not finite", diverged.Message);
        Assert.All([length, negative, logits, diverged], e => Assert.Equal("probabilitiesRowMajor", e.ParamName));
    }

    [Fact]
    public void NoExamplesGiveNoMetrics()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new ValidationMetricsAccumulator(3).ToMetrics());
        Assert.Contains("at least one example", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ValidationMetricsAccumulator(0));
    }
}
