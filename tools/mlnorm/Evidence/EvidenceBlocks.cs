using System.Globalization;
using MLNetNormalization.Tools.Mlnorm.Report;

namespace MLNetNormalization.Tools.Mlnorm.Evidence;

/// <summary>One block of evidence: the runs it needs, and what it concludes from them.</summary>
internal interface IEvidenceBlock
{
    IEnumerable<RunRequest> Requests(EvidencePlan plan);

    /// <summary>
    /// The block's table, claims and verdicts from the measured runs; adds its charts to <paramref name="charts"/>.
    /// <paramref name="shared"/>: the runs another block asked for too.
    /// </summary>
    BlockResult Build(EvidencePlan plan, IReadOnlyDictionary<RunSpec, RunMeasurement> runs, IReadOnlySet<RunSpec> shared, EvidenceChartSet charts);
}

/// <summary>What the blocks share: measuring cells, applying the verdict rule, the compute and the error-against-batch chart.</summary>
internal static class BlockParts
{
    public static CellResult Measure(Cell cell, EvidencePlan plan, IReadOnlyDictionary<RunSpec, RunMeasurement> runs)
    {
        var errors = cell.Specs(plan.Seeds).Select(spec => runs[spec].TestError).ToList();
        var spread = SeedSpread.Of(errors);
        return new CellResult(cell.Label, cell.Task.ToString(), cell.Normalizer, cell.BatchSize, cell.DecayNormAffine, errors, spread.Mean, spread.StandardDeviation);
    }

    public static SeedSpread Spread(CellResult cell) => new(cell.Mean, cell.StandardDeviation, cell.TestErrors.Count);

    public static string Percent(CellResult cell) => Spread(cell).Percent();

    /// <summary>The claim "<paramref name="claimed"/> has a lower test error than <paramref name="baseline"/>".</summary>
    public static ClaimResult Lower(string section, string claim, CellResult claimed, CellResult baseline) =>
        new(section, claim, $"{claimed.Label} lower than {baseline.Label}",
            $"{Percent(claimed)} vs {Percent(baseline)}", VerdictRule.Describe(VerdictRule.Lower(Spread(claimed), Spread(baseline))));

    /// <summary>The claim "<paramref name="claimed"/> is no worse than <paramref name="baseline"/>".</summary>
    public static ClaimResult NotHigher(string section, string claim, CellResult claimed, CellResult baseline) =>
        new(section, claim, $"{claimed.Label} no worse than {baseline.Label}",
            $"{Percent(claimed)} vs {Percent(baseline)}", VerdictRule.Describe(VerdictRule.NotHigher(Spread(claimed), Spread(baseline))));

    public static BlockCompute Compute(IEnumerable<Cell> cells, EvidencePlan plan, IReadOnlyDictionary<RunSpec, RunMeasurement> runs, IReadOnlySet<RunSpec> shared)
    {
        var specs = cells.SelectMany(c => c.Specs(plan.Seeds)).Distinct().ToList();
        return new BlockCompute(specs.Count, specs.Count(shared.Contains), specs.Sum(s => runs[s].TrainSeconds), specs.Sum(s => runs[s].EvaluationSeconds),
            specs.Sum(s => runs[s].CpuSeconds));
    }

    /// <summary>Test error (%) against batch size on a log2 axis: one line per normalizer through its cells, with ± one standard deviation.</summary>
    public static EvidenceChart ErrorAgainstBatch(string fileName, string title, IReadOnlyList<(string Name, IReadOnlyList<CellResult> Cells)> lines)
    {
        var batches = lines.SelectMany(l => l.Cells.Select(c => c.BatchSize)).Distinct().Order().ToList();
        return new EvidenceChart
        {
            FileName = fileName,
            Title = title,
            XLabel = "batch size (log scale)",
            YLabel = "test error (%), mean ± sd over seeds",
            Kind = EvidenceChartKind.Lines,
            TickPositions = [.. batches.Select(b => Math.Log2(b))],
            TickLabels = [.. batches.Select(b => b.ToString(CultureInfo.InvariantCulture))],
            Series = [.. lines.Select(l => new EvidenceSeries(l.Name,
                [.. l.Cells.Select(c => Math.Log2(c.BatchSize))], [.. l.Cells.Select(c => 100 * c.Mean)], [.. l.Cells.Select(c => 100 * c.StandardDeviation)]))],
        };
    }

    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// Block 1, "Mode Normalization", arXiv:1810.05466: BN, MN (K = 2, 3), MGN and GN on the multi-domain task with LeNet at batch
/// 128 and 16 (the shapes of its Tables 1 and 2), and how MN's gates spread each domain over the modes.
/// </summary>
internal sealed class ModeNormalizationBlock : IEvidenceBlock
{
    public const int LargeBatch = 128, SmallBatch = 16;

    private static readonly (string Label, string Normalizer)[] Normalizers =
        [("BN", "bn"), ("MN K=2", "mn:k=2"), ("MN K=3", "mn:k=3"), ("MGN K=2", "mgn:k=2"), ("GN G=2", "gn:g=2")];

    private static Cell CellOf(string label, string normalizer, int batch) => new($"{label} at batch {batch}", EvidenceTask.MultiDomain, normalizer, batch);

    private static IEnumerable<Cell> Cells() =>
        from batch in new[] { LargeBatch, SmallBatch } from n in Normalizers select CellOf(n.Label, n.Normalizer, batch);

    // The gates of the first seed's models are shown; every seed's are in the JSON (modes are numbered arbitrarily per model, so they are not averaged).
    private static bool HasGates(RunSpec spec) => spec.BatchSize == LargeBatch && spec.Normalizer.StartsWith("mn:", StringComparison.Ordinal);

    public IEnumerable<RunRequest> Requests(EvidencePlan plan) =>
        Cells().SelectMany(c => c.Specs(plan.Seeds)).Select(spec => new RunRequest(spec, MeasureGates: HasGates(spec)));

    public BlockResult Build(EvidencePlan plan, IReadOnlyDictionary<RunSpec, RunMeasurement> runs, IReadOnlySet<RunSpec> shared, EvidenceChartSet charts)
    {
        CellResult Result(int batch, string label) =>
            BlockParts.Measure(CellOf(label, Normalizers.Single(n => n.Label == label).Normalizer, batch), plan, runs);
        var rows = Normalizers.Select(n => (IReadOnlyList<string>)[n.Label, BlockParts.Percent(Result(LargeBatch, n.Label)), BlockParts.Percent(Result(SmallBatch, n.Label))]).ToList();
        var table = new TextTable(["normalizer", $"test error % at batch {LargeBatch}", $"test error % at batch {SmallBatch}"], rows);

        var claims = new List<ClaimResult>
        {
            BlockParts.Lower("4.1, Table 1", "On a multi-domain task (four datasets, disjoint labels, one LeNet), MN with K=2 beats BN at batch 128: 23.16 vs 26.91 % error.",
                Result(LargeBatch, "MN K=2"), Result(LargeBatch, "BN")),
            BlockParts.Lower("4.1, Table 1", "More modes still beat BN there, though not K=2 (K=4: 24.25 %, K=6: 25.12 %); K=3 here.",
                Result(LargeBatch, "MN K=3"), Result(LargeBatch, "BN")),
            BlockParts.Lower("4.1, Table 2", "At small batches MN still does slightly better than BN (batch 16: 28.70 vs 30.38 %).",
                Result(SmallBatch, "MN K=2"), Result(SmallBatch, "BN")),
            BlockParts.Lower("4.1, Table 2", "At small batches MGN improves on GN (batch 16: 26.00 vs 27.63 %, GN with two groups, MGN with K=2).",
                Result(SmallBatch, "MGN K=2"), Result(SmallBatch, "GN G=2")),
            BlockParts.Lower("4.1, Table 2", "... and is the best of the four there, BN included (26.00 vs 30.38 %).",
                Result(SmallBatch, "MGN K=2"), Result(SmallBatch, "BN")),
        };

        var chartFiles = new List<string> { "evidence-mn-error-vs-batch.svg" };
        charts.Charts.Add(BlockParts.ErrorAgainstBatch(chartFiles[0], "Mode normalization block: multi-domain test error",
            [.. Normalizers.Select(n => (n.Label, (IReadOnlyList<CellResult>)[Result(SmallBatch, n.Label), Result(LargeBatch, n.Label)]))]));

        var gates = runs.Values.Where(r => r.Gates is not null).OrderBy(r => r.Spec.Normalizer, StringComparer.Ordinal).ThenBy(r => r.Spec.Seed)
            .Select(r => new GateResult(r.Spec.Normalizer, r.Spec.BatchSize, r.Spec.Seed, r.Gates!)).ToList();
        foreach (var shown in gates.Where(g => g.Seed == 1))
        {
            var file = $"evidence-gates-{shown.Normalizer.Replace(":", "-").Replace("=", "")}.svg";
            chartFiles.Add(file);
            charts.Charts.Add(GateChart(file, shown));
        }

        var setup = "LeNet with a 40-way classifier on four domains with disjoint label sets: MNIST digits (labels 0-9), Fashion-MNIST (10-19), " +
                    "inverted Fashion-MNIST (20-29) and MNIST digits drawn over a per-image checkerboard (30-39), each domain from its own images. " +
                    "Every normalization layer of LeNet (both) is the named normalizer.";
        return new BlockResult("mode-normalization", "Mode normalization", "mode-normalization.txt", setup, table,
            [.. Cells().Select(c => BlockParts.Measure(c, plan, runs))], claims,
            BlockParts.Compute(Cells(), plan, runs, shared), chartFiles, Gates: gates);
    }

    /// <summary>Per layer and domain, the mean gate of each mode as a stacked bar (each bar sums to 1).</summary>
    private static EvidenceChart GateChart(string file, GateResult result)
    {
        var distribution = result.Distribution;
        var categories = new List<string>();
        var perMode = Enumerable.Range(0, distribution.Modes).Select(_ => new List<double>()).ToList();
        for (var layer = 0; layer < distribution.Layers.Count; layer++)
            for (var domain = 0; domain < distribution.Domains.Count; domain++)
            {
                // Two or three short lines under each bar: the layer, then the domain broken before "on".
                categories.Add($"{LayerName(layer)}\n{distribution.Domains[domain].Replace(" on ", "\non ", StringComparison.Ordinal)}");
                for (var k = 0; k < distribution.Modes; k++) perMode[k].Add(distribution.MeanGate[layer][domain][k]);
            }
        return new EvidenceChart
        {
            FileName = file,
            Title = BlockParts.Invariant($"{result.Normalizer} gates (batch {result.BatchSize}, seed {result.Seed}): mean gate per mode"),
            XLabel = "layer and domain of the test images",
            YLabel = "mean gate over the domain's images",
            Kind = EvidenceChartKind.StackedBars,
            Categories = categories,
            Series = [.. perMode.Select((values, k) => new EvidenceSeries($"mode {k + 1}", [], values, []))],
        };
    }

    /// <summary>LeNet's normalization layers in order: after the first and the second convolution.</summary>
    public static string LayerName(int layer) => $"conv{layer + 1}";
}

/// <summary>
/// Block 2, "Four Things Everyone Should Know to Improve Batch Normalization", arXiv:1906.03548: ghost batch norm at batch 128, inference alpha tuned after training, weight decay on
/// gamma/beta, and batch-group norm at batch 2, on Fashion-MNIST with LeNet.
/// </summary>
internal sealed class FourThingsBlock : IEvidenceBlock
{
    public const int NormalBatch = 128, GhostSize = 16, TinyBatch = 2, Groups = 5;

    private static readonly Cell Bn = new($"BN at batch {NormalBatch}", EvidenceTask.Fashion, "bn", NormalBatch);
    private static readonly Cell Ghost = new($"ghost BN ({GhostSize} of {NormalBatch})", EvidenceTask.Fashion, $"ghost:b={GhostSize}", NormalBatch);
    private static readonly Cell BnDecay = new($"BN at batch {NormalBatch} with decay on gamma/beta", EvidenceTask.Fashion, "bn", NormalBatch, DecayNormAffine: true);
    private static readonly Cell BnTiny = new($"BN at batch {TinyBatch}", EvidenceTask.Fashion, "bn", TinyBatch);
    private static readonly Cell GnTiny = new($"GN G={Groups} at batch {TinyBatch}", EvidenceTask.Fashion, $"gn:g={Groups}", TinyBatch);
    private static readonly Cell BgnTiny = new($"BGN G={Groups}, 2 examples, at batch {TinyBatch}", EvidenceTask.Fashion, $"bgn:g={Groups},b=2", TinyBatch);
    private static readonly Cell[] Cells = [Bn, Ghost, BnDecay, BnTiny, GnTiny, BgnTiny];

    public IEnumerable<RunRequest> Requests(EvidencePlan plan) =>
        Cells.SelectMany(c => c.Specs(plan.Seeds)).Select(spec => new RunRequest(spec, SweepAlpha: spec.BatchSize == NormalBatch && !spec.DecayNormAffine));

    public BlockResult Build(EvidencePlan plan, IReadOnlyDictionary<RunSpec, RunMeasurement> runs, IReadOnlySet<RunSpec> shared, EvidenceChartSet charts)
    {
        var results = Cells.ToDictionary(c => c, c => BlockParts.Measure(c, plan, runs));
        var tunings = new[] { Bn, Ghost }.Select(c => Tune(c, plan, runs)).ToList();

        string Experiment(Cell cell) => cell == Bn || cell == Ghost ? "ghost batch norm (3.2)" : cell == BnDecay ? "weight decay on gamma/beta (3.3)" : "batch-group norm (3.4)";
        var rows = new List<IReadOnlyList<string>>();
        foreach (var cell in Cells)
            rows.Add([Experiment(cell), cell.Label, BlockParts.Percent(results[cell]), string.Join(", ", results[cell].TestErrors.Select(e => BlockParts.Invariant($"{100 * e:F2}")))]);
        foreach (var tuning in tunings)
            rows.Add(["inference example weighing (3.1)", $"{tuning.Label}, alpha tuned on held-out images",
                BlockParts.Invariant($"{100 * tuning.Seeds.Average(s => s.TestErrorTuned):F2} (alpha 0: {100 * tuning.Seeds.Average(s => s.TestErrorAtZero):F2}), change {100 * tuning.MeanDifference:+0.00;-0.00;0.00} ± {100 * tuning.DifferenceStandardDeviation:F2}"),
                string.Join(", ", tuning.Seeds.Select(s => BlockParts.Invariant($"{100 * s.TestErrorTuned:F2} at alpha {s.TunedAlpha}")))]);
        var table = new TextTable(["experiment", "setting", "test error % (mean ± sd)", "per seed"], rows);

        var claims = new List<ClaimResult>
        {
            BlockParts.Lower("3.2, Fig. 3", "Ghost batch norm (normalizing within small chunks of the batch) improves on BN at medium batch sizes (up to +0.84 % accuracy on CIFAR-100, +5.8 % on Caltech-256).",
                results[Ghost], results[Bn]),
        };
        claims.Add(Paired(tunings[0], "3.1, Fig. 1",
            "Inference example weighing (mixing each example's own statistics into the running ones by alpha, tuned after training on held-out data) lowers error without retraining (ResNet-152 on ImageNet: up to +0.6 % accuracy)."));
        claims.Add(Paired(tunings[1], "3.2, Fig. 4", "Tuning alpha helps ghost-BN models too, the more the smaller the ghost batch."));
        claims.Add(BlockParts.Lower("3.3", "Weight decay on gamma and beta improves accuracy (+0.3 % on CIFAR-100) where their layer reaches the output without another normalizer on the way (LeNet's second BN does).",
            results[BnDecay], results[Bn]));
        claims.Add(BlockParts.Lower("3.4, Fig. 5", "At batch 2, batch-group norm (groups of channels pooled over the examples) beats BN ...", results[BgnTiny], results[BnTiny]));
        claims.Add(BlockParts.Lower("3.4, Fig. 5", "... and GN with the same groups.", results[BgnTiny], results[GnTiny]));

        var chartFile = "evidence-alpha.svg";
        charts.Charts.Add(new EvidenceChart
        {
            FileName = chartFile,
            Title = "Four things block: test error against inference alpha (no retraining)",
            XLabel = "inference alpha (0: running statistics only)",
            YLabel = "test error (%), mean ± sd over seeds",
            Kind = EvidenceChartKind.Lines,
            Series = [.. tunings.Select(t => new EvidenceSeries(t.Label, [.. EvidencePlan.Alphas],
                [.. EvidencePlan.Alphas.Select((_, i) => 100 * t.Seeds.Average(s => s.Curve[i].TestError))],
                [.. EvidencePlan.Alphas.Select((_, i) => 100 * SeedSpread.Of([.. t.Seeds.Select(s => s.Curve[i].TestError)]).StandardDeviation)]))],
        });

        var setup = BlockParts.Invariant($"LeNet on Fashion-MNIST. Ghost BN: chunks of {GhostSize} in batches of {NormalBatch}. Inference alpha: for each trained BN and ghost-BN model, the alpha of {{{string.Join(", ", EvidencePlan.Alphas)}}} with the lowest error on the held-out images (ties to the smaller alpha), then its test error; the same models at alpha 0 are the baseline. Weight decay on gamma/beta: {EvidencePlan.WeightDecay} (the weights' own) against none. Batch 2: GN and BGN with {Groups} channel groups (LeNet's 20 and 50 channels: 4 and 10 per group), BGN pooling each group over both examples.");
        return new BlockResult("four-things", "Four things (batch-norm improvements)", "four-things-batch-normalization.txt", setup, table,
            [.. Cells.Select(c => results[c])], claims, BlockParts.Compute(Cells, plan, runs, shared), [chartFile], AlphaTunings: tunings);
    }

    private static AlphaTuning Tune(Cell cell, EvidencePlan plan, IReadOnlyDictionary<RunSpec, RunMeasurement> runs)
    {
        var seeds = cell.Specs(plan.Seeds).Select(spec =>
        {
            var curve = runs[spec].Alphas ?? throw new InvalidOperationException($"{spec} was not measured at several alphas.");
            // The first minimum: ties go to the smaller alpha, the one closer to the classic eval.
            var tuned = curve.Aggregate((best, next) => next.ValidationError < best.ValidationError ? next : best);
            var atZero = curve.Single(a => a.Alpha == 0);
            return new AlphaSeed(spec.Seed, tuned.Alpha, atZero.TestError, tuned.TestError, curve);
        }).ToList();
        var differences = SeedSpread.Of([.. seeds.Select(s => s.TestErrorTuned - s.TestErrorAtZero)]);
        return new AlphaTuning(cell.Label, seeds, differences.Mean, differences.StandardDeviation);
    }

    private static ClaimResult Paired(AlphaTuning tuning, string section, string claim)
    {
        var spread = new SeedSpread(tuning.MeanDifference, tuning.DifferenceStandardDeviation, tuning.Seeds.Count);
        return new ClaimResult(section, claim, $"{tuning.Label}: tuned alpha lower than alpha 0 (same models)",
            BlockParts.Invariant($"change {100 * tuning.MeanDifference:+0.00;-0.00;0.00} ± {100 * tuning.DifferenceStandardDeviation:F2} points"),
            VerdictRule.Describe(VerdictRule.LowerPaired(spread)));
    }
}

/// <summary>Block 3, "Heterologous Normalization", an ICLR 2022 submission: HN (BN's mean, EN's std over the whole layer) against BN and GN at batch 2, 4, 8 and 128 on Fashion-MNIST.</summary>
internal sealed class HeterologousBlock : IEvidenceBlock
{
    public static IReadOnlyList<int> Batches { get; } = [2, 4, 8, 128];

    private static readonly (string Label, string Normalizer)[] Normalizers = [("HN", "hn:g=1"), ("BN", "bn"), ($"GN G={FourThingsBlock.Groups}", $"gn:g={FourThingsBlock.Groups}")];

    // Labelled as block 2 labels its cells where they are the same runs, so that a shared run reads the same in both tables.
    private static Cell CellOf(string label, string normalizer, int batch) => new($"{label} at batch {batch}", EvidenceTask.Fashion, normalizer, batch);

    private static IEnumerable<Cell> Cells() => from batch in Batches from n in Normalizers select CellOf(n.Label, n.Normalizer, batch);

    public IEnumerable<RunRequest> Requests(EvidencePlan plan) => Cells().SelectMany(c => c.Specs(plan.Seeds)).Select(spec => new RunRequest(spec));

    public BlockResult Build(EvidencePlan plan, IReadOnlyDictionary<RunSpec, RunMeasurement> runs, IReadOnlySet<RunSpec> shared, EvidenceChartSet charts)
    {
        CellResult Result(string label, int batch) => BlockParts.Measure(CellOf(label, Normalizers.Single(n => n.Label == label).Normalizer, batch), plan, runs);
        var rows = Batches.Select(b => (IReadOnlyList<string>)[b.ToString(CultureInfo.InvariantCulture), .. Normalizers.Select(n => BlockParts.Percent(Result(n.Label, b)))]).ToList();
        var table = new TextTable(["batch", .. Normalizers.Select(n => $"{n.Label} test error %")], rows);

        var gn = Normalizers[2].Label;
        var claims = new List<ClaimResult>();
        foreach (var batch in Batches.Where(b => b < 128))
            claims.Add(BlockParts.Lower("abstract, 4.2-4.3, Tables 4-5", BlockParts.Invariant($"With small batches HN beats BN, whose batch statistics get noisy (batch 4, ResNet-18, CIFAR-100: 77.02 vs 76.60 % accuracy); here batch {batch}."),
                Result("HN", batch), Result("BN", batch)));
        foreach (var batch in Batches.Where(b => b < 128))
            claims.Add(BlockParts.Lower("4.2-4.3, Tables 4-5", BlockParts.Invariant($"With small batches HN also beats GN (batch 4, CIFAR-100: 77.02 vs 74.48 %); here batch {batch}."),
                Result("HN", batch), Result(gn, batch)));
        claims.Add(BlockParts.NotHigher("abstract, 4.2, Table 4", "At a normal batch HN is comparable to BN (batch 128, CIFAR-100: 76.76 vs 77.91 %; CIFAR-10 (BN, EN): 95.18 vs 95.05 %).",
            Result("HN", 128), Result("BN", 128)));

        var chartFile = "evidence-hn-error-vs-batch.svg";
        charts.Charts.Add(BlockParts.ErrorAgainstBatch(chartFile, "Heterologous block: Fashion-MNIST test error",
            [.. Normalizers.Select(n => (n.Label, (IReadOnlyList<CellResult>)[.. Batches.Select(b => Result(n.Label, b))]))]));
        var setup = BlockParts.Invariant($"LeNet on Fashion-MNIST. HN is hn:g=1: the mean over the batch per channel (as BN), the standard deviation over the batch and all channels of the layer (EN with one group), the paper's default. GN with {FourThingsBlock.Groups} groups. Learning rate scaled linearly with the batch, as the paper does.");
        return new BlockResult("heterologous", "Heterologous normalization", "heterologous-normalization.txt", setup, table,
            [.. Cells().Select(c => BlockParts.Measure(c, plan, runs))], claims, BlockParts.Compute(Cells(), plan, runs, shared), [chartFile]);
    }
}
