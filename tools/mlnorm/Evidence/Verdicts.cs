using System.Globalization;

namespace MLNetNormalization.Tools.Mlnorm.Evidence;

/// <summary>Mean and sample standard deviation (n - 1) of one cell's values over its seeds; the cell's interval is mean ± one standard deviation.</summary>
internal readonly record struct SeedSpread(double Mean, double StandardDeviation, int Count)
{
    public double Low => Mean - StandardDeviation;

    public double High => Mean + StandardDeviation;

    /// <exception cref="ArgumentException">With fewer than 2 values: a spread needs two seeds.</exception>
    public static SeedSpread Of(IReadOnlyList<double> values)
    {
        if (values.Count < 2)
            throw new ArgumentException($"A mean ± standard deviation needs at least 2 values, got {values.Count}.", nameof(values));
        var mean = values.Average();
        var variance = values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1);
        return new SeedSpread(mean, Math.Sqrt(variance), values.Count);
    }

    /// <summary>As a percentage, "12.34 ± 0.56" (the values are fractions).</summary>
    public string Percent() => string.Create(CultureInfo.InvariantCulture, $"{100 * Mean:F2} ± {100 * StandardDeviation:F2}");
}

/// <summary>What the numbers say about a claim.</summary>
internal enum Verdict
{
    Confirmed,
    NotReproduced,
    Inconclusive,
}

/// <summary>
/// The verdict rule of `mlnorm evidence` (stated in evidence.md under "How to read the verdicts"). Every interval is
/// mean ± one sample standard deviation over the seeds. The rule is deliberately simple: with 3 seeds it is a
/// coarse screen, not a significance test.
/// </summary>
internal static class VerdictRule
{
    /// <summary>
    /// Claim "<paramref name="claimed"/> has a lower test error than <paramref name="baseline"/>": confirmed when the
    /// claimed interval lies entirely below the baseline's; not reproduced when it lies entirely at or above it;
    /// inconclusive when the intervals overlap.
    /// </summary>
    public static Verdict Lower(SeedSpread claimed, SeedSpread baseline) =>
        claimed.High < baseline.Low ? Verdict.Confirmed
        : claimed.Low >= baseline.High ? Verdict.NotReproduced
        : Verdict.Inconclusive;

    /// <summary>
    /// Claim "<paramref name="claimed"/> is no worse than <paramref name="baseline"/>" (the papers' "comparable"):
    /// not reproduced when the claimed interval lies entirely above the baseline's, confirmed otherwise (overlapping
    /// intervals are what "comparable" predicts).
    /// </summary>
    public static Verdict NotHigher(SeedSpread claimed, SeedSpread baseline) =>
        claimed.Low > baseline.High ? Verdict.NotReproduced : Verdict.Confirmed;

    /// <summary>
    /// Claim "a change to the same trained models lowers the test error", from the per-seed differences (changed minus
    /// unchanged): confirmed when the differences' interval lies entirely below 0; not reproduced when it lies entirely
    /// at or above 0 (no seed gained on average, including no change at all); inconclusive when it straddles 0.
    /// </summary>
    public static Verdict LowerPaired(SeedSpread differences) =>
        differences.High < 0 ? Verdict.Confirmed
        : differences.Low >= 0 ? Verdict.NotReproduced
        : Verdict.Inconclusive;

    public static string Describe(Verdict verdict) => verdict switch
    {
        Verdict.Confirmed => "confirmed",
        Verdict.NotReproduced => "not reproduced",
        Verdict.Inconclusive => "inconclusive",
        _ => throw new ArgumentOutOfRangeException(nameof(verdict), verdict, null),
    };

    /// <summary>The rule as evidence.md states it.</summary>
    public static IReadOnlyList<string> Statement { get; } =
    [
        "Each cell's interval is its mean test error ± one sample standard deviation over the seeds.",
        "\"A has lower error than B\": **confirmed** when A's interval lies entirely below B's, **not reproduced** when it lies entirely at or above B's, **inconclusive** when the intervals overlap.",
        "\"A is no worse than B\" (a paper's \"comparable\"): **not reproduced** when A's interval lies entirely above B's, **confirmed** otherwise.",
        "A change applied to the same trained models (inference alpha): the per-seed differences (changed minus unchanged) get their own mean ± standard deviation; **confirmed** when that interval lies entirely below 0, **not reproduced** when it lies entirely at or above 0 (including no change at all), **inconclusive** when it straddles 0.",
        "With 3 seeds this is a coarse screen, not a significance test: \"inconclusive\" means these runs cannot tell, not that the effect is absent.",
    ];
}
