using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using static TorchSharp.torch;
using static MLNetNormalization.Bench.Units;

namespace MLNetNormalization.Bench;

/// <summary>One row of the memory table: a normalizer's (or the reference's) trace, or why it has none.</summary>
internal sealed record MemoryRow(string Label, RowKind Kind, MemoryTrace? Trace, string? Failure)
{
    public MemorySample First => Trace!.Samples[0];
    public MemorySample Last => Trace!.Samples[^1];

    /// <summary>Least-squares slopes over the samples, per 1,000 steps: live tensors, and resident memory in bytes.</summary>
    public (double Tensors, double ResidentBytes) GrowthPer1000Steps
    {
        get
        {
            var steps = Trace!.Samples.Select(s => (double)s.Step).ToList();
            return (Stats.Slope(steps, Trace.Samples.Select(s => (double)s.LiveTensors).ToList()) * 1000,
                    Stats.Slope(steps, Trace.Samples.Select(s => (double)s.ResidentBytes).ToList()) * 1000);
        }
    }

    public bool Passes => Failure == null && Last.LiveTensors == First.LiveTensors && Last.ResidentBytes - First.ResidentBytes <= MemoryPhase.ResidentGrowthLimit;
}

/// <summary>The memory phase's rows and how long it took.</summary>
internal sealed record MemoryTable(int Batch, int Steps, IReadOnlyList<MemoryRow> Rows, double Seconds);

/// <summary>
/// Issue 11's memory target, "no growth of native tensors or process RSS over 2,000 steps": each row's model, built afresh,
/// trained on one fixed batch for --memory-steps steps, with TorchSharp's live tensor count and the process's resident memory
/// read after a warm-up and at intervals after it.
/// </summary>
internal static class MemoryPhase
{
    /// <summary>Steps before the first reading: the model's gradients, SGD momenta and libtorch's caches exist by then.</summary>
    public const int WarmupSteps = 100;

    public const int SampleInterval = 250;

    /// <summary>
    /// How much resident memory may grow from after the warm-up to the end and still pass: glibc's malloc arenas (one per
    /// thread that allocates, libtorch's intra-op threads included) and their free lists move the resident size by megabytes
    /// from step to step without any leak, so the limit is not zero.
    /// </summary>
    public const long ResidentGrowthLimit = 16L << 20;

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    public static MemoryTable Run(Options options, IReadOnlyList<Contender> contenders, Tensor x, Tensor y)
    {
        Console.WriteLine();
        Console.WriteLine($"memory: {contenders.Count} models, {options.MemorySteps} steps each at batch {options.MemoryBatch}, " +
                          $"readings after step {WarmupSteps}, every {SampleInterval} after it and after the last");
        var start = Stopwatch.GetTimestamp();
        var rows = new List<MemoryRow>();
        foreach (var contender in contenders)
        {
            ReturnFreeMemory();
            try
            {
                using var trainee = new Trainee(contender.Label, contender.Normalization, x, y, options.ChannelsLast);
                var row = new MemoryRow(contender.Label, contender.Kind, trainee.TraceMemory(options.MemorySteps, WarmupSteps, SampleInterval), null);
                rows.Add(row);
                var (tensors, resident) = row.GrowthPer1000Steps;
                Console.WriteLine($"  {row.Label,-47} live tensors {row.First.LiveTensors} -> {row.Last.LiveTensors}, " +
                                  $"RSS {MiB(row.First.ResidentBytes)} -> {MiB(row.Last.ResidentBytes)} MiB (max {MiB(row.Trace!.MaxResidentBytes)}), " +
                                  $"per 1,000 steps {tensors:+0.0;-0.0;0} tensors {resident / (1 << 20):+0.0;-0.0;0} MiB, " +
                                  $"{Ms(row.Trace.Seconds / options.MemorySteps)} ms/step, {(row.Passes ? "PASS" : "FAIL")}");
            }
            catch (Exception e) when (e is ArgumentException or ExternalException or InvalidOperationException)
            {
                rows.Add(new MemoryRow(contender.Label, contender.Kind, null, e.Message));
                Console.Error.WriteLine($"warning: memory phase: {contender.Label} failed: {e.Message}");
            }
        }
        return new MemoryTable(options.MemoryBatch, options.MemorySteps, rows, Stopwatch.GetElapsedTime(start).TotalSeconds);
    }

    /// <summary>
    /// Hands freed memory back to the OS before a model's run. The library keeps glibc from trimming its heap (M_TRIM_THRESHOLD
    /// 1 GiB), so the timing phase's batch-128 activations stay resident though free, and a leak would fill them without the
    /// resident size moving. After this, growth in the resident size is memory the model touched anew.
    /// </summary>
    private static void ReturnFreeMemory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        MallocTrim(0);
    }

    public static void Report(StringBuilder s, MemoryTable table)
    {
        var measured = table.Steps - WarmupSteps;
        s.AppendLine($"### Memory: {table.Steps:N0} steps at batch {table.Batch}");
        s.AppendLine();
        s.AppendLine($"After the timing, every normalizer's model and the reference's, each built afresh, trained {table.Steps:N0} steps on one fixed " +
                     $"random batch of {table.Batch} (the same step as above). Before each model the benchmark collects .NET's garbage and calls glibc's " +
                     "`malloc_trim(0)`: the library keeps glibc from trimming its heap, so memory freed by earlier models would stay resident and hide " +
                     $"a leak that reused it. Readings after step {WarmupSteps} (the warm-up), every {SampleInterval} steps after it and after the last: " +
                     "live tensors are TorchSharp's count of tensors created on this thread and not disposed " +
                     "(`DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount`: parameters, buffers, gradients, SGD momenta, the batch); " +
                     "RSS is the process's resident memory (`VmRSS` of /proc/self/status), also read after every step for the maximum. " +
                     "Growth per 1,000 steps is the least-squares slope over the readings. " +
                     $"PASS when the live tensor count at the end equals the one after the warm-up and RSS grew by at most {MiB(ResidentGrowthLimit)} MiB " +
                     "from after the warm-up to the end: not zero, because glibc's malloc arenas and free lists move RSS by megabytes without a leak; " +
                     $"over {measured:N0} steps that still catches a leak of {ResidentGrowthLimit / 1024.0 / measured:F1} KiB or more per step.");
        s.AppendLine();
        s.AppendLine("| Row | live tensors: after warm-up -> end | RSS (MiB): after warm-up -> end | max RSS (MiB) | growth per 1,000 steps: tensors, RSS (MiB) | ms/step | verdict |");
        s.AppendLine("|---|---:|---:|---:|---:|---:|---|");
        foreach (var row in table.Rows)
        {
            var label = Cells.Label(row.Label, row.Kind);
            if (row.Failure != null)
            {
                s.AppendLine($"| {label} | - | - | - | - | - | FAIL: {Cells.Text(row.Failure)} |");
                continue;
            }
            var (tensors, resident) = row.GrowthPer1000Steps;
            s.AppendLine($"| {label} | {row.First.LiveTensors:N0} -> {row.Last.LiveTensors:N0} | {MiB(row.First.ResidentBytes)} -> {MiB(row.Last.ResidentBytes)} | " +
                         $"{MiB(row.Trace!.MaxResidentBytes)} | {tensors:+0.0;-0.0;0}, {resident / (1 << 20):+0.0;-0.0;0} | {Ms(row.Trace.Seconds / table.Steps)} | " +
                         $"{(row.Passes ? "PASS" : "FAIL")} |");
        }
        s.AppendLine();
        var failing = table.Rows.Where(r => !r.Passes).Select(r => $"`{r.Label}`").ToList();
        s.AppendLine(failing.Count == 0
            ? $"**Memory: live tensors flat and RSS growth within {MiB(ResidentGrowthLimit)} MiB for all {table.Rows.Count} rows: PASS.**"
            : $"**Memory: {failing.Count} of {table.Rows.Count} rows grow: FAIL** ({string.Join(", ", failing)}).");
        s.AppendLine();
        s.AppendLine($"The memory phase took {table.Seconds / 60:F1} min ({table.Rows.Count} models of {table.Steps:N0} steps).");
        s.AppendLine();
    }
}
