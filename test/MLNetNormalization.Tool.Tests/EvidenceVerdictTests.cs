using MLNetNormalization.Tools.Mlnorm.Evidence;

namespace MLNetNormalization.Tool.Tests;

/// <summary>The verdict rule of `mlnorm evidence` on spreads computed by hand (test errors as fractions).</summary>
public sealed class EvidenceVerdictTests
{
    [Fact]
    public void SpreadIsTheMeanAndTheSampleStandardDeviation()
    {
        // mean 0.11; deviations -0.01, 0, 0.01; sample variance (1e-4 + 0 + 1e-4) / 2 = 1e-4; sd 0.01.
        var spread = SeedSpread.Of([0.10, 0.11, 0.12]);
        Assert.Equal(0.11, spread.Mean, 12);
        Assert.Equal(0.01, spread.StandardDeviation, 12);
        Assert.Equal(0.10, spread.Low, 12);
        Assert.Equal(0.12, spread.High, 12);
        Assert.Equal("11.00 ± 1.00", spread.Percent());
        // mean 0.2; deviations -0.1, 0.1; variance 0.02 / 1; sd sqrt(0.02) = 0.141421...
        Assert.Equal(Math.Sqrt(0.02), SeedSpread.Of([0.1, 0.3]).StandardDeviation, 12);
        Assert.Throws<ArgumentException>(() => SeedSpread.Of([0.1]));
    }

    [Theory]
    // claimed [0.10, 0.12] entirely below baseline [0.13, 0.15]
    [InlineData(new[] { 0.10, 0.11, 0.12 }, new[] { 0.13, 0.14, 0.15 }, "confirmed")]
    // claimed [0.13, 0.15] entirely above baseline [0.10, 0.12]
    [InlineData(new[] { 0.13, 0.14, 0.15 }, new[] { 0.10, 0.11, 0.12 }, "not reproduced")]
    // claimed [0.10, 0.12] overlaps baseline [0.115, 0.135]
    [InlineData(new[] { 0.10, 0.11, 0.12 }, new[] { 0.115, 0.125, 0.135 }, "inconclusive")]
    // a lower mean is not enough: claimed [0.08, 0.12] against baseline [0.10, 0.12]
    [InlineData(new[] { 0.08, 0.10, 0.12 }, new[] { 0.10, 0.11, 0.12 }, "inconclusive")]
    public void LowerComparesTheIntervals(double[] claimed, double[] baseline, string expected) =>
        Assert.Equal(expected, VerdictRule.Describe(VerdictRule.Lower(SeedSpread.Of(claimed), SeedSpread.Of(baseline))));

    [Theory]
    // overlapping: comparable, so confirmed
    [InlineData(new[] { 0.11, 0.12, 0.13 }, new[] { 0.10, 0.11, 0.12 }, "confirmed")]
    // entirely below: better, so confirmed
    [InlineData(new[] { 0.05, 0.06, 0.07 }, new[] { 0.10, 0.11, 0.12 }, "confirmed")]
    // claimed [0.13, 0.15] entirely above [0.10, 0.12]
    [InlineData(new[] { 0.13, 0.14, 0.15 }, new[] { 0.10, 0.11, 0.12 }, "not reproduced")]
    public void NotHigherFailsOnlyWhenClearlyWorse(double[] claimed, double[] baseline, string expected) =>
        Assert.Equal(expected, VerdictRule.Describe(VerdictRule.NotHigher(SeedSpread.Of(claimed), SeedSpread.Of(baseline))));

    [Theory]
    // differences -0.02, -0.01, -0.03: mean -0.02, sd 0.01, interval [-0.03, -0.01] below 0
    [InlineData(new[] { -0.02, -0.01, -0.03 }, "confirmed")]
    // no seed changed: [0, 0] is at 0, not below it
    [InlineData(new[] { 0.0, 0.0, 0.0 }, "not reproduced")]
    // 0.01, 0.02, 0.03: [0.01, 0.03] above 0
    [InlineData(new[] { 0.01, 0.02, 0.03 }, "not reproduced")]
    // -0.02, 0, 0.01: mean -1/300, sd about 0.0153: straddles 0
    [InlineData(new[] { -0.02, 0.0, 0.01 }, "inconclusive")]
    public void LowerPairedComparesTheDifferencesWithZero(double[] differences, string expected) =>
        Assert.Equal(expected, VerdictRule.Describe(VerdictRule.LowerPaired(SeedSpread.Of(differences))));
}
