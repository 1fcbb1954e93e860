using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using MLNetNormalization.Bench;
using MLNetNormalization.Normalization;
using MLNetNormalization.Training;
using TorchSharp;
using static TorchSharp.torch;
using static MLNetNormalization.Bench.BenchHost;
using static MLNetNormalization.Bench.Units;

// ResNet-20 training step with every normalizer of NormalizerFactory against the reference, TorchSharp's nn.BatchNorm2d
// (issues 11, "Speed and memory", and 25, "Fewer native calls per layer"): per batch size, rounds that time every row once (round-robin, the starting point
// rotating), the median over rounds of each round's median step time, and the median over rounds of the per-round ratio
// to the reference, against each normalizer's target. Each normalizer's general path (its statistics algebra as libtorch
// ops differentiated by autograd, what every layer but BN and ghost BN trained through before issue 25) and libtorch's
// fused GroupNorm and InstanceNorm2d are timed beside them for comparison. A measurement, not a test: exit code 0 whatever the ratios, nonzero only when something failed.

// Issue 25's targets, as ratios to the reference: at batch 128 our bn and ghost (which train through libtorch's fused
// batch_norm) within 1.05x and every other normalizer within 1.15x; at batch 8 every normalizer within 1.35x. A batch of
// at least LargeBatch is held to the batch-128 targets, a smaller one to batch 8's (TargetFor).
const int LargeBatch = 64;
const double FusedKindTarget = 1.05;
const double LargeBatchTarget = 1.15;
const double SmallBatchTarget = 1.35;
const string ReferenceLabel = "TorchSharp nn.BatchNorm2d (reference)";
const string GeneralPathSuffix = "general path (before issue 25)";
const string StartMarker = "<!-- normalizers:start -->";
const string EndMarker = "<!-- normalizers:end -->";
const string ProfileStartMarker = "<!-- normalizers-profile:start -->";
const string ProfileEndMarker = "<!-- normalizers-profile:end -->";
const int TableOpChains = 20;

return BenchHost.Main(args, Options.Parse, options => options.Help, Options.Usage, Run);

static int Run(Options options)
{
    var root = FindRepoRoot();
    var output = Path.GetFullPath(Path.Combine(root, options.Output));
    torch.set_num_threads(options.Threads);
    if (torch.get_num_threads() != options.Threads)
        throw new InvalidOperationException($"libtorch runs {torch.get_num_threads()} threads after asking for {options.Threads}.");
    // Parse every string and build its layers for ResNet-20's channel counts up front, so that a typo or a group
    // count that does not divide 16 fails before minutes of measuring.
    foreach (var batch in options.MemorySteps > 0 ? options.Batches.Append(options.MemoryBatch) : options.Batches)
    foreach (var contender in Contenders(options, batch))
    {
        foreach (var channels in new long[] { 16, 32, 64 }) contender.Normalization(channels).Dispose();
    }

    if (options.Profile) return Profile(options);

    var date = DateTime.UtcNow;
    var command = RunCommand("bench/NormBench", options.Arguments);
    Console.WriteLine($"ResNet-20, batches {string.Join(", ", options.Batches)}, {options.Norms.Count} normalizers + TorchSharp nn.BatchNorm2d" +
                      $"{(options.Natives ? " + 3 TorchSharp native normalizations" : "")}, {options.Rounds} rounds, " +
                      $"torch.get_num_threads() = {torch.get_num_threads()}, libtorch {torch.__version__}, {Layout(options)}");

    var cpuStart = CpuSnapshot.Take();
    var waitBudget = new StrongBox<TimeSpan>(TimeSpan.FromSeconds(options.MaxWait));
    var tables = new List<BatchTable>();
    foreach (var batch in options.Batches)
        tables.Add(MeasureBatch(options, batch, waitBudget));
    var waitedTotal = TimeSpan.FromSeconds(options.MaxWait) - waitBudget.Value;
    var (otherCpu, capacity) = CpuSnapshot.Others(cpuStart, CpuSnapshot.Take());
    var memory = options.MemorySteps > 0 ? MeasureMemory(options) : null;

    var body = Report(options, command, date, tables, memory, otherCpu, capacity, waitedTotal);
    ResultsFile.WriteSection(output, StartMarker, EndMarker, body);
    Console.WriteLine($"other processes used {otherCpu:F1} of the machine's {capacity:F1} core-seconds ({otherCpu / capacity:P1})");
    Console.WriteLine($"wrote {output}");
    return 0;
}

// The memory phase: every normalizer, and the reference as the baseline for theirs; the natives are left out, their
// kernels being libtorch's, as the reference's is, and so are the general paths.
static MemoryTable MeasureMemory(Options options)
{
    torch.manual_seed(1);
    using var x = Batch(options.MemoryBatch, options.ChannelsLast);
    using var y = randint(0, 10, [options.MemoryBatch]);
    return MemoryPhase.Run(options, Contenders(options, options.MemoryBatch).Where(c => c.Kind is RowKind.Normalizer or RowKind.Reference).ToList(), x, y);
}

// The rows of a batch size, in table order: the normalizers (ghost batches fitted to the batch), the reference, then
// the normalizers' general paths and the natives when asked for.
static List<Contender> Contenders(Options options, int batch)
{
    var specifications = options.Norms.Select(norm => ForBatch(norm, batch)).ToList();
    var contenders = specifications
        .Select(specification => new Contender(specification, RowKind.Normalizer, NormalizerFactory.Create(specification), TargetFor(specification, batch)))
        .ToList();
    contenders.Add(new Contender(ReferenceLabel, RowKind.Reference, channels => nn.BatchNorm2d(channels), null));
    if (options.GeneralPaths)
        contenders.AddRange(specifications.Select(specification => new Contender(
            $"{specification} {GeneralPathSuffix}", RowKind.GeneralPath, GeneralPath(NormalizerFactory.Create(specification)), null)));
    if (options.Natives)
    {
        // libtorch's fused kernels behind three of our normalizers. Their float32 kernels accumulate in float, which the
        // spec (docs/normalizers.md section 1: double accumulation) rules out for our layers; these rows show what a
        // fused kernel would cost, and are not judged.
        contenders.Add(new Contender("TorchSharp nn.GroupNorm(8, C) (as gn:g=8)", RowKind.Native, channels => NativeGroupNorm(8, channels), null));
        contenders.Add(new Contender("TorchSharp nn.GroupNorm(1, C) (as ln)", RowKind.Native, channels => NativeGroupNorm(1, channels), null));
        contenders.Add(new Contender("TorchSharp nn.InstanceNorm2d(C, affine) (as in)", RowKind.Native,
                                     channels => nn.InstanceNorm2d(channels, affine: true), null));
    }
    return contenders;
}

// TorchSharp 0.107's nn.GroupNorm leaves its weight and bias uninitialized (measured here: arbitrary floats, and a NaN
// loss from ResNet-20's first forward); PyTorch's GroupNorm starts from weight 1 and bias 0, as every other row does.
static nn.Module<Tensor, Tensor> NativeGroupNorm(long groups, long channels)
{
    var norm = nn.GroupNorm(groups, channels);
    using var noGrad = no_grad();
    norm.weight!.fill_(1);
    norm.bias!.zero_();
    return norm;
}

// The layers of a normalizer on the general path: cell moments and the statistics algebra as libtorch ops on the small
// tables, differentiated by autograd (NormalizationLayer.GeneralPathOnly), the reference the fast paths are tested against.
static Func<long, nn.Module<Tensor, Tensor>> GeneralPath(Func<long, NormalizationLayer> build) => channels =>
{
    var layer = build(channels);
    layer.GeneralPathOnly = true;
    return layer;
};

// A normalizer's target ratio to the reference at a batch size: its kind is the factory string's name before the colon.
static double TargetFor(string specification, int batch)
{
    if (batch < LargeBatch) return SmallBatchTarget;
    var kind = specification.Split(':')[0].Trim().ToLowerInvariant();
    return kind is "bn" or "ghost" ? FusedKindTarget : LargeBatchTarget;
}

static BatchTable MeasureBatch(Options options, int batch, StrongBox<TimeSpan> waitBudget)
{
    var warmup = options.WarmupFor(batch);
    var steps = options.StepsFor(batch);
    Console.WriteLine();
    Console.WriteLine($"batch {batch}: {warmup} warm-up + {steps} timed steps per row and round");

    var contenders = Contenders(options, batch);
    torch.manual_seed(1);
    using var x = Batch(batch, options.ChannelsLast);
    using var y = randint(0, 10, [batch]);
    var trainees = new List<Trainee>();
    try
    {
        foreach (var contender in contenders)
            trainees.Add(new Trainee(contender.Label, contender.Normalization, x, y, options.ChannelsLast));

        var kept = trainees.ToDictionary(t => t, _ => new List<Measurement?>());
        var discarded = new List<string>();
        for (var r = 0; r < options.Rounds; r++)
        {
            // Round-robin with a rotating start, so that no row always follows the same one.
            var start = r % trainees.Count;
            foreach (var trainee in trainees.Skip(start).Concat(trainees.Take(start)))
            {
                if (trainee.Failure != null)
                {
                    kept[trainee].Add(null);
                    continue;
                }
                for (var attempt = 0; ; attempt++)
                {
                    if (waitBudget.Value > TimeSpan.Zero)
                    {
                        var waited = QuietMachine.Wait(options.MaxOtherCpu / 100, TimeSpan.FromSeconds(Math.Min(60, waitBudget.Value.TotalSeconds)));
                        waitBudget.Value -= waited;
                        if (waited >= TimeSpan.FromSeconds(1))
                            Console.WriteLine($"  waited {waited.TotalSeconds:F0} s for other processes to calm down ({waitBudget.Value.TotalSeconds:F0} s of waiting left)");
                    }
                    Measurement m;
                    try
                    {
                        m = trainee.Run(warmup, steps);
                    }
                    catch (Exception e) when (e is ArgumentException or ExternalException or InvalidOperationException)
                    {
                        trainee.Failure = $"round {r + 1}: {e.Message}";
                        Console.Error.WriteLine($"warning: {trainee.Label} failed and is left out from now on: {e.Message}");
                        kept[trainee].Add(null);
                        break;
                    }
                    var disturbed = m.OtherCpuShare > options.MaxOtherCpu / 100;
                    if (disturbed && attempt < options.Retries)
                    {
                        discarded.Add($"{trainee.Label} round {r + 1} ({m.OtherCpuShare:P0})");
                        Console.WriteLine($"  round {r + 1} {trainee.Label,-47} {Ms(m.Median),7} ms  others took {m.OtherCpuShare:P1} of the CPU: discarded, again");
                        continue;
                    }
                    Console.WriteLine($"  round {r + 1} {trainee.Label,-47} {Ms(m.Median),7} ms  [{string.Join(", ", m.StepSeconds.Select(Ms))}]  " +
                                      $"others {m.OtherCpuShare:P1}{(disturbed ? " (kept after the retries)" : "")}, {m.HandlesPerStep} handles/step, loss {m.Loss:F3}");
                    if (m.LiveTensorsAfter != m.LiveTensorsBefore)
                        Console.Error.WriteLine($"warning: {trainee.Label}: live tensor count changed over the timed steps ({m.LiveTensorsBefore} -> {m.LiveTensorsAfter}).");
                    if (!double.IsFinite(m.Loss))
                        Console.Error.WriteLine($"warning: {trainee.Label}: the loss is {m.Loss}; the timing is of non-finite arithmetic.");
                    kept[trainee].Add(m);
                    break;
                }
            }
        }

        var reference = trainees[contenders.FindIndex(c => c.Kind == RowKind.Reference)];
        var rows = contenders.Zip(trainees, (c, t) => Summarize(c, t, kept[t], kept[reference], options.MaxOtherCpu / 100)).ToList();
        Console.WriteLine();
        Console.WriteLine($"batch {batch}: median ms/step, ratio to the reference (median over rounds of the per-round ratio), target:");
        foreach (var row in rows)
            Console.WriteLine($"  {row.Label,-47} {(row.Failure ?? $"{Ms(row.MedianSeconds),7} ms  {row.Ratio,6:F3}x  {Verdict(row),-16}")}" +
                              (OldShimRatio(batch, row) is { Length: > 0 } old ? $"  old shim {old}x" : ""));
        return new BatchTable(batch, warmup, steps, rows, discarded, reference.ParameterCount);
    }
    finally
    {
        foreach (var trainee in trainees) trainee.Dispose();
    }
}

static Row Summarize(Contender contender, Trainee trainee, List<Measurement?> measurements, List<Measurement?> reference, double maxOther)
{
    var complete = measurements.Select((m, r) => (m, b: reference[r])).Where(p => p.m != null && p.b != null).ToList();
    if (trainee.Failure != null || complete.Count == 0)
        return new Row(contender.Label, contender.Kind, contender.Target, double.NaN, double.NaN, double.NaN, double.NaN, [], 0, 0, 0, false,
                       trainee.Failure ?? "no round in which it and the reference both ran");
    var medians = measurements.Where(m => m != null).Select(m => m!.Median).ToList();
    return new Row(
        contender.Label,
        contender.Kind,
        contender.Target,
        Stats.Median(medians),
        medians.Min(),
        medians.Max(),
        Stats.Median(complete.Select(p => p.m!.Median / p.b!.Median)),
        medians,
        measurements.Max(m => m!.OtherCpuShare),
        measurements.Count(m => m!.OtherCpuShare > maxOther),
        measurements.Last()!.HandlesPerStep,
        measurements.Any(m => m!.LiveTensorsAfter != m.LiveTensorsBefore || !double.IsFinite(m.Loss)),
        null);
}

// A normalizer passes when its ratio is within its target; the reference and the natives are not judged.
static bool Fails(Row row) => row.Kind == RowKind.Normalizer && (row.Failure != null || !(row.Ratio <= row.Target));

// The old shim's ratio for a normalizer's row, blank where it has none (other rows, other batch sizes, other normalizers).
static string OldShimRatio(int batch, Row row) =>
    row.Kind == RowKind.Normalizer && OldShim.RatioToReference(batch, row.Label) is { } ratio ? $"{ratio:F2}" : "";

static string Verdict(Row row) => row.Kind switch
{
    RowKind.Reference => "reference",
    RowKind.Native or RowKind.GeneralPath => row.Failure != null ? "error (not judged)" : "not judged",
    _ => $"<= {row.Target:F2}x: {(row.Failure != null ? "FAIL (error)" : Fails(row) ? "FAIL" : "PASS")}",
};

// A ghost batch as large as the batch is BN itself: at small batches ghost:b=B (B >= batch) becomes b = batch/2.
static string ForBatch(string norm, int batch)
{
    var match = Regex.Match(norm, @"^\s*ghost\s*:(.*\bb\s*=\s*)(\d+)(.*)$", RegexOptions.IgnoreCase);
    if (!match.Success || !int.TryParse(match.Groups[2].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var b) || b < batch) return norm.Trim();
    return $"ghost:{match.Groups[1].Value}{Math.Max(2, batch / 2)}{match.Groups[3].Value}".Trim();
}

// --profile: where a step's time goes, per row, and the cost of one op on a small table, written to its own section of the
// results file. Explains the small-batch ratios: there a normalizer's excess over the reference is its statistics algebra,
// a fixed number of small-table ops per layer whatever the batch, each costing what TableOpCost measures.
static int Profile(Options options)
{
    var root = FindRepoRoot();
    var output = Path.GetFullPath(Path.Combine(root, options.Output));
    var date = DateTime.UtcNow;
    var command = RunCommand("bench/NormBench", options.Arguments);
    var s = new StringBuilder();
    s.AppendLine("## Normalizers: where the step time goes (profile)");
    s.AppendLine();
    s.AppendLine("Written by `bench/NormBench --profile`. Each row trains the ResNet-20 of the section above on one fixed random batch; " +
                 "medians over the profiled steps of each phase, in ms. *Tensors* counts the TorchSharp tensors the step creates " +
                 "(TorchSharp's `DisposeScopeManager.Statistics`, every dispose scope included): about one per libtorch op issued " +
                 "from .NET, not counting the ops autograd runs natively in the backward. *Excess* is the row's step time minus the " +
                 "reference's; *ops x cost* is the row's extra tensors per step times the measured cost of one autograd-recorded op " +
                 "on a small float64 table (below), an estimate of what its statistics algebra costs whatever the batch size. " +
                 $"*Native calls of one layer* counts, the same way, the tensors one layer of the row creates in a training step on " +
                 $"[B, {LayerCalls.Channels}, {LayerCalls.Size}, {LayerCalls.Size}], forward and backward apart (the backward's from the row's own " +
                 "custom autograd functions; what libtorch's autograd runs natively is not counted), and its ratio to nn.BatchNorm2d's; " +
                 "*Normalization layers* is the time ResNet-20's 19 normalization layers take in a step, forward and backward, timed apart from " +
                 "the network (the median step of one layer of each of its shapes, [B, 16, 32, 32], [B, 32, 16, 16] and [B, 64, 8, 8], times " +
                 "the 7, 6 and 6 layers of that shape, laid out as the network's), its ratio to nn.BatchNorm2d's, and its excess over " +
                 "nn.BatchNorm2d's: how much of the row's excess step time the layers themselves account for.");
    s.AppendLine();
    s.AppendLine($"Command: `{command}`; {date:yyyy-MM-dd HH:mm} UTC; torch.get_num_threads() = {torch.get_num_threads()}, libtorch {torch.__version__}, {Layout(options)}.");
    foreach (var batch in options.Batches)
    {
        var warmup = options.WarmupFor(batch);
        var steps = options.StepsFor(batch);
        var (plainOp, recordedOp) = TableOpCost.Measure(batch, 16, TableOpChains);
        torch.manual_seed(1);
        using var x = Batch(batch, options.ChannelsLast);
        using var y = randint(0, 10, [batch]);
        Console.WriteLine($"batch {batch}, {warmup} warm-up + {steps} profiled steps each, medians (ms); one op on a [{batch}, 16] float64 table: " +
                          $"{plainOp:F1} us plain, {recordedOp:F1} us recorded by autograd with its backward");
        var rows = new List<(string Label, Phases Phases, int Layers, (long Forward, long Backward) Calls, double LayersMs)>();
        foreach (var contender in Contenders(options, batch))
        {
            using var trainee = new Trainee(contender.Label, contender.Normalization, x, y, options.ChannelsLast);
            var p = trainee.Profile(warmup, steps);
            rows.Add((trainee.Label, p, trainee.NormalizationLayers, LayerCalls.Count(contender.Normalization, batch, options.ChannelsLast),
                      LayerCalls.NetworkMs(contender.Normalization, batch, options.ChannelsLast)));
            Console.WriteLine($"  {trainee.Label,-47} forward {p.Forward * 1000,7:F1}  backward {p.Backward * 1000,7:F1}  SGD {p.Update * 1000,5:F1}  " +
                              $"total {p.Total * 1000,7:F1}  tensors {p.TensorsForward:F0}/{p.TensorsStep:F0}");
        }
        var referenceRow = rows.Single(r => r.Label == ReferenceLabel);
        var reference = referenceRow.Phases;
        var referenceCalls = Math.Max(1, referenceRow.Calls.Forward + referenceRow.Calls.Backward);
        s.AppendLine();
        s.AppendLine($"### Batch {batch}");
        s.AppendLine();
        s.AppendLine($"{warmup} warm-up + {steps} profiled steps per row. One op on a [{batch}, 16] float64 table costs **{plainOp:F1} us** plain and " +
                     $"**{recordedOp:F1} us** recorded by autograd, its backward included (median of {TableOpChains} chains of {TableOpCost.OpsPerChain} multiplications).");
        s.AppendLine();
        s.AppendLine("| Row | Forward | Backward | SGD | Dispose | Total | Tensors (forward / step) | Extra tensors per layer | Excess | Ops x cost | " +
                     $"Native calls of one layer, forward + backward (x {ReferenceLabel}) | Normalization layers, forward + backward: ms (x reference), excess |");
        s.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (label, p, layers, calls, layersMs) in rows)
        {
            var extra = p.TensorsStep - reference.TensorsStep;
            var isReference = label == ReferenceLabel;
            s.AppendLine($"| {label} | {p.Forward * 1000:F1} | {p.Backward * 1000:F1} | {p.Update * 1000:F1} | {p.ScopeDispose * 1000:F1} | {p.Total * 1000:F1} | " +
                         $"{p.TensorsForward:F0} / {p.TensorsStep:F0} | {(isReference ? "" : $"{extra / layers:F0}")} | " +
                         $"{(isReference ? "" : $"{(p.Total - reference.Total) * 1000:F1}")} | {(isReference ? "" : $"{extra * recordedOp / 1000:F1}")} | " +
                         $"{calls.Forward} + {calls.Backward} ({(calls.Forward + calls.Backward) / (double)referenceCalls:F0}x) | " +
                         $"{layersMs:F1} ({layersMs / referenceRow.LayersMs:F2}x){(isReference ? "" : $", {layersMs - referenceRow.LayersMs:F1}")} |");
        }
    }
    ResultsFile.WriteSection(output, ProfileStartMarker, ProfileEndMarker, s.ToString());
    Console.WriteLine($"wrote {output}");
    return 0;
}

static string Report(Options options, string command, DateTime date, List<BatchTable> tables, MemoryTable? memory, double otherCpu, double capacity, TimeSpan waited)
{
    var s = new StringBuilder();
    s.AppendLine("## Normalizers: ResNet-20 training step time relative to TorchSharp's BatchNorm2d, and memory over training");
    s.AppendLine();
    s.AppendLine("Written by `bench/NormBench` (rerun it to refresh this section). The CIFAR ResNet-20 of `ResNetCifar` " +
                 $"({tables[0].Parameters:N0} parameters with BN; 19 normalization layers of 16, 32 and 64 channels) is built for each normalizer " +
                 "with `normalization: c => NormalizerFactory.Create(spec, c)` after `torch.manual_seed(0)`, and trained on one fixed random batch " +
                 "(`randn` [B, 3, 32, 32], `randint` labels of 10 classes) with cross-entropy and SGD (lr 0.1, momentum 0.9, weight decay 1e-4). " +
                 "One step is zero-grad, forward, loss, backward and the SGD update, in a dispose scope. " +
                 "The reference, against which every ratio is taken, is `ResNetCifar`'s default normalization, TorchSharp's `nn.BatchNorm2d` " +
                 "(libtorch's fused `batch_norm`), timed in the same rounds." +
                 (options.GeneralPaths
                     ? " The general-path rows, timed alike and not judged, are each normalizer with `GeneralPathOnly`: its statistics algebra " +
                       "as libtorch ops on the small [N, C] tables, differentiated by autograd, the way every layer but BN and ghost BN trained " +
                       "before issue 25 and the reference the fast path (the algebra in .NET arrays, its backward written out) is tested against."
                     : "") +
                 (options.Natives
                     ? " The native rows, timed alike for comparison and not judged, are TorchSharp's `nn.GroupNorm(8, C)` (libtorch's fused kernel " +
                       "behind a `gn:g=8`), `nn.GroupNorm(1, C)` (what `ln` is) and `nn.InstanceNorm2d(C, affine: true)` (what `in` is). " +
                       "libtorch's `group_norm` float32 kernel accumulates in float, which the spec (docs/normalizers.md section 1: double " +
                       "accumulation) rules out for our layers; these rows show what a fused kernel would cost."
                     : ""));
    s.AppendLine();
    s.AppendLine($"- Command: `{command}`");
    s.AppendLine($"- Date (UTC): {date:yyyy-MM-dd HH:mm:ss}");
    s.AppendLine($"- Machine: {MachineDescription()}");
    s.AppendLine($"- TorchSharp {typeof(torch).Assembly.GetName().Version} (NuGet TorchSharp-cpu), libtorch `torch.__version__` {torch.__version__}");
    s.AppendLine($"- Memory format: {Layout(options)}");
    s.AppendLine("- malloc: glibc, M_MMAP_THRESHOLD 32 MiB and M_TRIM_THRESHOLD 1 GiB (set by the Normalization assembly when it loads)");
    s.AppendLine($"- Threads: {options.Threads} (`torch.get_num_threads()` = {torch.get_num_threads()})");
    s.AppendLine($"- Rounds: {options.Rounds} per batch size; per row and round: " +
                 string.Join("; ", tables.Select(t => $"batch {t.Batch}: {t.Warmup} warm-up and {t.Steps} timed steps")));
    s.AppendLine($"- Targets (issue 25, \"Fewer native calls per layer\"), as ratios to the reference: at batch >= {LargeBatch} (the issue's 128) " +
                 $"`bn` and `ghost` <= {FusedKindTarget:F2}x and every other normalizer <= {LargeBatchTarget:F2}x; " +
                 $"below batch {LargeBatch} (the issue's 8) every normalizer <= {SmallBatchTarget:F2}x.");
    s.AppendLine();
    foreach (var table in tables)
    {
        var judged = table.Rows.Where(r => r.Kind == RowKind.Normalizer).ToList();
        var failing = judged.Where(Fails).ToList();
        s.AppendLine($"### Batch {table.Batch}");
        s.AppendLine();
        s.AppendLine("| Row | ms/step | round medians min-max (ms) | ratio to the reference | target: verdict | " +
                     "old shim (libtorch 1.13), ratio to its BatchNorm2d | tensor handles per step | max others' CPU |");
        s.AppendLine("|---|---:|---:|---:|---|---:|---:|---:|");
        foreach (var row in table.Rows)
        {
            var label = Cells.Label(row.Label, row.Kind);
            if (row.Failure != null)
            {
                s.AppendLine($"| {label} | - | - | - | {Verdict(row)}: {Cells.Text(row.Failure)} | {OldShimRatio(table.Batch, row)} | - | - |");
                continue;
            }
            s.AppendLine($"| {label} | {Ms(row.MedianSeconds)} | {Ms(row.MinSeconds)}-{Ms(row.MaxSeconds)} | {row.Ratio:F2} | {Verdict(row)} | {OldShimRatio(table.Batch, row)} | " +
                         $"{row.HandlesPerStep:N0} | {row.MaxOtherCpu:P0}{(row.Disturbed > 0 ? $" ({row.Disturbed} over {options.MaxOtherCpu}%)" : "")} |");
        }
        s.AppendLine();
        var slowest = judged.Where(r => r.Failure == null).OrderByDescending(r => r.Ratio).Take(3).Select(r => $"`{r.Label}` {r.Ratio:F2}x");
        s.AppendLine(failing.Count == 0
            ? $"**Batch {table.Batch}: all {judged.Count} normalizers within their targets: PASS** (slowest: {string.Join(", ", slowest)})."
            : $"**Batch {table.Batch}: {failing.Count} of {judged.Count} normalizers miss their targets: FAIL** " +
              $"({string.Join(", ", failing.Select(f => f.Failure != null ? $"`{f.Label}` error" : $"`{f.Label}` {f.Ratio:F2}x > {f.Target:F2}x"))}).");
        s.AppendLine();
    }
    if (memory != null) MemoryPhase.Report(s, memory);
    else s.AppendLine("Memory phase not run (`--memory-steps 0`).").AppendLine();
    s.AppendLine("Method and notes:");
    s.AppendLine();
    s.AppendLine("- A round times every row once, round-robin with the starting row rotating from round to round, so that drift " +
                 "and background load hit all of them alike. Every measurement builds its model afresh from `torch.manual_seed(0)` and runs the " +
                 "warm-up steps, then the timed steps: every round times the same steps from the same initialization (a model trained on round " +
                 "after round would memorise the batch, or diverge at batch 8, and time different arithmetic each round).");
    s.AppendLine("- ms/step is the median over rounds of each round's median step; the ratio is the median over rounds of " +
                 "(the row's round median / the reference's median in the same round), so it is paired within a round and need not equal " +
                 "the quotient of the ms column exactly.");
    s.AppendLine($"- Old shim column: {OldShim.Source}. Its table gave ratios to our `bn` of the time; the ratio to its own reference " +
                 "(libtorch 1.13's BatchNorm2d through the shim) is computed from that table's round medians exactly as this table's ratios are " +
                 "(median over its rounds of the per-round ratio). Another machine and another libtorch: compare the ratios, not the ms.");
    s.AppendLine("- A ghost batch at least as large as the batch would be BN itself, so `ghost:b=B` with B >= the batch size is timed as " +
                 "`ghost:b=<batch/2>` (`ghost:b=32` at batch 128 becomes `ghost:b=4` at batch 8). ResNet-20's 16-channel layers take `gn:g=8` " +
                 "(32 groups do not divide 16).");
    s.AppendLine("- Tensor handles per step: the handles the step's dispose scope owned at its end, one per tensor the C# code got back from " +
                 "a native call. All of them come from the forward pass (backward and the SGD update create none; `--profile` shows the split), " +
                 "so the column counts the native ops a forward issues: libtorch's fused `batch_norm` takes one per layer, " +
                 "the normalizers' float64 statistics algebra a few dozen (each op on the small [N, C] tables costs microseconds, forward plus backward, " +
                 "whatever the batch size, which is why the ratios spread more at batch 8).");
    var discarded = tables.Sum(t => t.Discarded.Count);
    var disturbedKept = tables.Sum(t => t.Rows.Sum(r => r.Disturbed));
    s.AppendLine($"- Other processes used {otherCpu:F1} of the machine's {capacity:F1} core-seconds during the whole run ({otherCpu / capacity:P1}, /proc/stat). " +
                 $"Before each measurement the benchmark waited (up to 60 s) until they took at most {options.MaxOtherCpu}% of the CPU: {waited.TotalSeconds:F0} s of waiting in all" +
                 (waited.TotalSeconds >= options.MaxWait - 1 && options.MaxWait > 0 ? $" (the whole --max-wait budget of {options.MaxWait:F0} s)" : "") + ". " +
                 $"A measurement during which they took more than {options.MaxOtherCpu}% was discarded and run again (at most {options.Retries} times): " +
                 $"{discarded} discarded." +
                 (disturbedKept > 0 ? $" **{disturbedKept} kept measurement(s) are still disturbed (last column); rerun on an idle machine for cleaner numbers.**" : ""));
    var leaks = tables.SelectMany(t => t.Rows).Where(r => r.Suspicious).Select(r => r.Label).ToList();
    s.AppendLine(leaks.Count == 0
        ? "- Native tensor handles flat over the timed steps, and the loss finite, for every row and round."
        : $"- **Live tensor count not flat or loss not finite for: {string.Join(", ", leaks)}.**");
    s.AppendLine("- The issue's reference points, not measured here: Debian PyTorch's straightforward MN takes 3.6x and its GN 5.4x the step time of BN.");
    s.AppendLine();
    s.AppendLine("Round medians (ms), in table order:");
    s.AppendLine();
    foreach (var table in tables)
        s.AppendLine($"- batch {table.Batch}: " + string.Join("; ", table.Rows.Select(r => $"{r.Label} [{string.Join(", ", r.RoundSeconds.Select(Ms))}]")));
    return s.ToString();
}

// The batch every trainee of a batch size shares, in the layout the engine trains in.
static Tensor Batch(int batch, bool channelsLast)
{
    using var x = randn(batch, 3, 32, 32);
    return channelsLast ? MemoryFormat.ToChannelsLast(x) : x.alias();
}

static string Layout(Options options) => options.ChannelsLast
    ? "channels-last (batch and Conv2d weights laid out NHWC behind NCHW sizes)"
    : "contiguous NCHW";

/// <summary>What a row of the benchmark is: one of our normalizers (judged against its target), the reference, or a native kernel shown beside them.</summary>
internal enum RowKind { Normalizer, Reference, GeneralPath, Native }

/// <summary>A row of the benchmark: its label, what it is, what builds its normalization layers, and its target ratio (normalizers only).</summary>
internal sealed record Contender(string Label, RowKind Kind, Func<long, nn.Module<Tensor, Tensor>> Normalization, double? Target);

/// <summary>One row of a batch size's table.</summary>
internal sealed record Row(
    string Label,
    RowKind Kind,
    double? Target,
    double MedianSeconds,
    double MinSeconds,
    double MaxSeconds,
    double Ratio,
    IReadOnlyList<double> RoundSeconds,
    double MaxOtherCpu,
    int Disturbed,
    int HandlesPerStep,
    bool Suspicious,
    string? Failure);

/// <summary>The measurements of one batch size.</summary>
internal sealed record BatchTable(int Batch, int Warmup, int Steps, IReadOnlyList<Row> Rows, IReadOnlyList<string> Discarded, long Parameters);

/// <summary>Markdown table cells of the report.</summary>
internal static class Cells
{
    /// <summary>A row's name: our normalizers' factory strings as code, the TorchSharp rows as text.</summary>
    public static string Label(string label, RowKind kind) => kind == RowKind.Normalizer ? $"`{label}`" : label;

    /// <summary>Text for a cell, its pipes escaped.</summary>
    public static string Text(string text) => text.Replace("|", "\\|");
}
