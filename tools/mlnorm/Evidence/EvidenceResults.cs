using System.Text.Json;
using System.Text.Json.Serialization;

namespace MLNetNormalization.Tools.Mlnorm.Evidence;

/// <summary>One table cell's setting: a task, normalizer, batch size and weight decay on gamma/beta, trained once per seed.</summary>
internal sealed record Cell(string Label, EvidenceTask Task, string Normalizer, int BatchSize, bool DecayNormAffine = false)
{
    /// <summary>The runs of this cell: seeds 1 to <paramref name="seeds"/>.</summary>
    public IEnumerable<RunSpec> Specs(int seeds) =>
        Enumerable.Range(1, seeds).Select(seed => new RunSpec(Task, Normalizer, BatchSize, seed, DecayNormAffine));
}

/// <summary>A cell's measured test errors (fractions), one per seed, and their spread.</summary>
internal sealed record CellResult(string Label, string Task, string Normalizer, int BatchSize, bool DecayNormAffine,
                                  IReadOnlyList<double> TestErrors, double Mean, double StandardDeviation);

/// <summary>One claim of a paper, what was compared, the numbers, and the verdict of <see cref="VerdictRule"/>.</summary>
/// <param name="Section">Where the paper makes it, e.g. "4.1, Table 1".</param>
/// <param name="Claim">The claim in our words, with the paper's own numbers.</param>
/// <param name="Comparison">What the rule compared, e.g. "MN K=2 lower than BN at batch 128".</param>
/// <param name="Measured">The two intervals (or the paired difference) in percent.</param>
internal sealed record ClaimResult(string Section, string Claim, string Comparison, string Measured, string Verdict);

/// <summary>Seconds and runs a block took (run-seconds of training and evaluation, and the CPU seconds of its runs). Runs shared with another block count in both.</summary>
internal sealed record BlockCompute(int Runs, int SharedRuns, double TrainSeconds, double EvaluationSeconds, double CpuSeconds);

/// <summary>A model type's inference-alpha tuning: per seed, the alpha with the lowest validation error and the test errors at alpha 0 and at it.</summary>
internal sealed record AlphaTuning(string Label, IReadOnlyList<AlphaSeed> Seeds, double MeanDifference, double DifferenceStandardDeviation);

internal sealed record AlphaSeed(int Seed, double TunedAlpha, double TestErrorAtZero, double TestErrorTuned, IReadOnlyList<AlphaMeasurement> Curve);

/// <summary>The gates of one trained MN model.</summary>
internal sealed record GateResult(string Normalizer, int BatchSize, int Seed, GateDistribution Distribution);

/// <summary>A markdown table: header and rows of cell text.</summary>
internal sealed record TextTable(IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<string>> Rows);

/// <summary>Everything one block measured and concluded.</summary>
internal sealed record BlockResult(
    string Id, string Title, string Paper, string Setup, TextTable Table, IReadOnlyList<CellResult> Cells,
    IReadOnlyList<ClaimResult> Claims, BlockCompute Compute, IReadOnlyList<string> ChartFiles,
    IReadOnlyList<GateResult>? Gates = null, IReadOnlyList<AlphaTuning>? AlphaTunings = null)
{
    /// <summary>"2 confirmed, 1 not reproduced, 1 inconclusive (of 4 claims)".</summary>
    public string Summary()
    {
        var counts = new[] { Verdict.Confirmed, Verdict.NotReproduced, Verdict.Inconclusive }
            .Select(v => (Name: VerdictRule.Describe(v), Count: Claims.Count(c => c.Verdict == VerdictRule.Describe(v))));
        return $"{string.Join(", ", counts.Select(c => $"{c.Count} {c.Name}"))} (of {Claims.Count} claims)";
    }
}

/// <summary>The machine-readable results of one `mlnorm evidence` run (evidence-results.json).</summary>
internal sealed record EvidenceResults(
    string Command, string Mode, DateTimeOffset Started, double WallSeconds, double CpuSeconds, int Workers, int ProcessorCount,
    string? LoadAverageBefore, string? LoadAverageAfter, EvidencePlan Plan, IReadOnlyList<string> VerdictRule,
    IReadOnlyList<BlockResult> Blocks, IReadOnlyList<RunMeasurement> Runs)
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        // Readable text (±, quotes) instead of \u escapes; the file is read by JSON parsers and by people, never embedded in HTML.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);
}
