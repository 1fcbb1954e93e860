using System.Globalization;
using System.Text;
using MLNetNormalization.Bench;
using TorchSharp;
using static MLNetNormalization.Bench.BenchHost;
using static MLNetNormalization.Bench.Units;

// ResNet-20 training step through TorchSharp against the same network in PyTorch: interleaved rounds,
// the median over rounds of each round's median step time, and the ratio against the 0.65x target (the TorchSharp issue:
// 0.62x was the old C# binding's ratio on this machine).
// A measurement, not a test: exit code 0 whatever the ratio, nonzero only when something failed.

const double Target = 0.65;
const string StartMarker = "<!-- resnet20-binding:start -->";
const string EndMarker = "<!-- resnet20-binding:end -->";

return BenchHost.Main(args, Options.Parse, options => options.Help, Options.Usage, Run);

static int Run(Options options)
{
    if (options.Diagnose) return Diagnose(options);

    var root = FindRepoRoot();
    var script = Path.Combine(root, "bench", "pytorch_resnet20.py");
    if (!File.Exists(script)) throw new FileNotFoundException($"The PyTorch side {script} is missing.");
    if (!File.Exists(options.Python)) throw new FileNotFoundException($"{options.Python} does not exist (Debian's python3 with python3-torch is expected there; see --python).");
    var output = Path.GetFullPath(Path.Combine(root, options.Output));

    var workingSetStart = Environment.WorkingSet;
    var date = DateTime.UtcNow;
    var command = RunCommand("bench/ResNetBench", options.Arguments);

    using var binding = new TorchSharpSide(options.Threads, options.Batch, options.ChannelsLast);
    var workingSetModel = Environment.WorkingSet;
    var pytorch = new PyTorchSide(options.Python, script);

    Console.WriteLine($"ResNet-20, batch {options.Batch}, {options.Threads} thread(s), {options.Warmup} warm-up + {options.Steps} timed steps per round, {options.Rounds} rounds");
    Console.WriteLine($"C#: TorchSharp, libtorch {torch.__version__}, torch.get_num_threads() = {torch.get_num_threads()}, {Layout(binding)}, {binding.ParameterCount:N0} parameters, " +
                      $"{binding.Conv2dCount} Conv2d / {binding.BatchNormCount} BatchNorm2d / {binding.LinearCount} Linear");
    Console.WriteLine();

    var cpuStart = CpuSnapshot.Take();
    var othersPerRound = new List<double>();
    var ours = new List<BindingRound>();
    var theirs = new List<PyTorchRound>();
    var discarded = new List<string>();
    for (var r = 1; r <= options.Rounds; r++)
    {
        // A round is a PyTorch run and a C# run back to back; odd rounds start with PyTorch, even ones with C#.
        // libgomp's spinning threads make a step many times slower when another process wants the cores,
        // so a round during which others took more than --max-other-cpu is discarded and run again.
        var pytorchFirst = r % 2 == 1;
        for (var attempt = 0; ; attempt++)
        {
            if (options.MaxWait > 0)
            {
                var waited = QuietMachine.Wait(options.MaxOtherCpu / 100, TimeSpan.FromSeconds(options.MaxWait));
                if (waited >= TimeSpan.FromSeconds(options.MaxWait))
                    Console.WriteLine($"round {r}: the machine was not quiet within {options.MaxWait} s; running anyway");
                else if (waited > TimeSpan.FromSeconds(1))
                    Console.WriteLine($"round {r}: waited {waited.TotalSeconds:F0} s for the other processes to calm down");
            }
            var roundStart = CpuSnapshot.Take();
            PyTorchRound? theirRound = null;
            BindingRound? ourRound = null;
            for (var turn = 0; turn < 2; turn++)
            {
                if ((turn == 0) == pytorchFirst)
                {
                    theirRound = pytorch.RunRound(options.Threads, options.Batch, options.Warmup, options.Steps);
                    Console.WriteLine($"round {r} PyTorch: median {Ms(theirRound.Median)} ms  steps [{string.Join(", ", theirRound.StepSeconds.Select(Ms))}] ms  " +
                                      $"(torch {theirRound.TorchVersion}, torch.get_num_threads() = {theirRound.Threads})");
                }
                else
                {
                    ourRound = binding.RunRound(options.Warmup, options.Steps);
                    Console.WriteLine($"round {r} C#     : median {Ms(ourRound.Median)} ms  steps [{string.Join(", ", ourRound.StepSeconds.Select(Ms))}] ms  " +
                                      $"(live tensors {ourRound.LiveTensorsBefore} -> {ourRound.LiveTensorsAfter}, GC {ourRound.Gen0Collections}/{ourRound.Gen1Collections}/{ourRound.Gen2Collections}, " +
                                      $"{ourRound.ManagedBytesPerStep / 1024.0:F0} KiB managed/step, {ourRound.MinorFaultsPerStep} page faults/step, loss {ourRound.LastLoss:F4}, torch.get_num_threads() = {torch.get_num_threads()})");
                    if (ourRound.LiveTensorsAfter != ourRound.LiveTensorsBefore)
                        Console.Error.WriteLine($"warning: live tensor count changed over the timed steps ({ourRound.LiveTensorsBefore} -> {ourRound.LiveTensorsAfter}): the binding leaks handles.");
                    if (!double.IsFinite(ourRound.LastLoss))
                        Console.Error.WriteLine($"warning: the C# loss is {ourRound.LastLoss}; the timing is of non-finite arithmetic.");
                }
            }
            var (roundOther, roundCapacity) = CpuSnapshot.Others(roundStart, CpuSnapshot.Take());
            var share = roundOther / roundCapacity;
            var disturbed = share > options.MaxOtherCpu / 100;
            if (disturbed && attempt < options.Retries)
            {
                discarded.Add($"round {r} attempt {attempt + 1}: others took {share:P1}; PyTorch {Ms(theirRound!.Median)} ms, C# {Ms(ourRound!.Median)} ms");
                Console.WriteLine($"round {r}: other processes took {share:P1} of the CPU (> {options.MaxOtherCpu}%): discarded, running it again");
                continue;
            }
            theirs.Add(theirRound!);
            ours.Add(ourRound!);
            othersPerRound.Add(share);
            Console.WriteLine($"round {r}: other processes took {share:P1} of the CPU{(disturbed ? " (still disturbed after the retries; kept)" : "")}");
            break;
        }
    }
    var workingSetEnd = Environment.WorkingSet;
    var (otherCpu, capacity) = CpuSnapshot.Others(cpuStart, CpuSnapshot.Take());
    var otherShare = otherCpu / capacity;

    var pytorchMedian = Stats.Median(theirs.Select(t => t.Median));
    var ourMedian = Stats.Median(ours.Select(o => o.Median));
    var ratio = ourMedian / pytorchMedian;
    var verdict = ratio <= Target ? "PASS" : "FAIL";
    var leaks = ours.Any(o => o.LiveTensorsAfter != o.LiveTensorsBefore);

    Console.WriteLine();
    Console.WriteLine($"median over rounds: PyTorch {Ms(pytorchMedian)} ms, C# {Ms(ourMedian)} ms, ratio C#/PyTorch {ratio:F3} (target <= {Target:F2}): {verdict}");
    Console.WriteLine($"live tensors flat over every round: {(leaks ? "NO" : "yes")}; working set {MiB(workingSetStart)} MiB at start, {MiB(workingSetModel)} MiB after building the model, {MiB(workingSetEnd)} MiB at end");

    Console.WriteLine($"other processes used {otherCpu:F1} core-seconds of {capacity:F1} during the rounds ({otherShare:P1})");
    if (othersPerRound.Any(o => o > options.MaxOtherCpu / 100))
        Console.Error.WriteLine($"warning: other processes took more than {options.MaxOtherCpu}% of the CPU during some kept rounds; the timings are disturbed, rerun on an idle machine.");

    var body = Report(options, command, date, ours, theirs, pytorchMedian, ourMedian, ratio, verdict,
                      binding, workingSetStart, workingSetModel, workingSetEnd, otherCpu, capacity, othersPerRound, discarded);
    ResultsFile.WriteSection(output, StartMarker, EndMarker, body);
    Console.WriteLine($"wrote {output}");
    return 0;
}

static int Diagnose(Options options)
{
    using var contiguous = new TorchSharpSide(options.Threads, options.Batch, channelsLast: false);
    using var channelsLast = new TorchSharpSide(options.Threads, options.Batch, channelsLast: true);
    Console.WriteLine($"C# step phases, ResNet-20, batch {options.Batch}, torch.get_num_threads() = {torch.get_num_threads()}, {options.Steps} steps of each layout (alternating), medians:");
    foreach (var p in TorchSharpSide.Diagnose([contiguous, channelsLast], options.Warmup, options.Steps))
        Console.WriteLine($"  {p.Form}:\n    forward {p.Forward:F1} ms, backward {p.Backward:F1} ms, SGD {p.Update:F1} ms, scope dispose {p.ScopeDispose:F1} ms, " +
                          $"total {p.Total:F1} ms; {p.MinorFaults:F0} minor page faults per step");
    Console.WriteLine($"working set {MiB(Environment.WorkingSet)} MiB, peak {MiB(System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64)} MiB");
    return 0;
}

static string Report(Options options, string command, DateTime date, List<BindingRound> ours, List<PyTorchRound> theirs,
                     double pytorchMedian, double ourMedian, double ratio, string verdict, TorchSharpSide binding,
                     long workingSetStart, long workingSetModel, long workingSetEnd, double otherCpu, double capacity,
                     List<double> othersPerRound, List<string> discarded)
{
    var s = new StringBuilder();
    s.AppendLine("## ResNet-20 training step: TorchSharp vs PyTorch");
    s.AppendLine();
    s.AppendLine("Written by `bench/ResNetBench` (rerun it to refresh this section). Both sides train the same CIFAR ResNet-20 " +
                 $"(option-A shortcuts, {binding.ParameterCount:N0} parameters, TorchSharp's `nn.BatchNorm2d` / PyTorch's `nn.BatchNorm2d`) on one fixed random batch " +
                 $"({options.Batch}x3x32x32, 10 classes) with cross-entropy and SGD (lr 0.1, momentum 0.9, weight decay 1e-4). " +
                 "One step is zero-grad, forward, loss, backward and the SGD update; the C# step runs in a dispose scope. " +
                 "The C# model is built once and reused by every round; PyTorch (`bench/pytorch_resnet20.py`) runs in a fresh process per round. " +
                 "Every round starts with its warm-up steps.");
    s.AppendLine();
    s.AppendLine($"- Command: `{command}`");
    s.AppendLine($"- Date (UTC): {date:yyyy-MM-dd HH:mm:ss}");
    s.AppendLine($"- Machine: {MachineDescription()}");
    s.AppendLine($"- C#: TorchSharp {typeof(torch).Assembly.GetName().Version} (NuGet TorchSharp-cpu), libtorch `torch.__version__` {torch.__version__}; " +
                 $"PyTorch (`torch.__version__`): {theirs[0].TorchVersion} ({options.Python}); Debian packages: {DebianPackages("python3-torch")}");
    s.AppendLine($"- C# memory format: {Layout(binding)}; PyTorch: its default (contiguous NCHW)");
    s.AppendLine($"- C# malloc: glibc, M_MMAP_THRESHOLD 32 MiB and M_TRIM_THRESHOLD 1 GiB (set by the Normalization assembly when it loads); PyTorch: glibc defaults");
    s.AppendLine($"- Threads: {options.Threads} (C# `torch.get_num_threads()` = {torch.get_num_threads()}; PyTorch `torch.get_num_threads()` = {string.Join("/", theirs.Select(t => t.Threads).Distinct())})");
    s.AppendLine($"- Batch {options.Batch}; {options.Warmup} warm-up and {options.Steps} timed steps per round; {options.Rounds} rounds, interleaved " +
                 "(odd rounds PyTorch first, even rounds C# first)");
    s.AppendLine();
    s.AppendLine("| Round | First | PyTorch median (ms) | C# median (ms) | C#/PyTorch | C# live tensors before -> after timed steps | C# GCs gen0/1/2 | C# minor page faults per step | Other processes' CPU |");
    s.AppendLine("|---:|---|---:|---:|---:|---|---|---:|---:|");
    for (var r = 0; r < options.Rounds; r++)
    {
        var o = ours[r];
        var t = theirs[r];
        s.AppendLine($"| {r + 1} | {(r % 2 == 0 ? "PyTorch" : "C#")} | {Ms(t.Median)} | {Ms(o.Median)} | {o.Median / t.Median:F3} | " +
                     $"{o.LiveTensorsBefore} -> {o.LiveTensorsAfter} | {o.Gen0Collections}/{o.Gen1Collections}/{o.Gen2Collections} | {o.MinorFaultsPerStep} | {othersPerRound[r]:P1} |");
    }
    s.AppendLine($"| **median** | | **{Ms(pytorchMedian)}** | **{Ms(ourMedian)}** | **{ratio:F3}** | | | | |");
    s.AppendLine();
    s.AppendLine($"**C#/PyTorch step time: {ratio:F3} (target <= {Target:F2}): {verdict}**");
    s.AppendLine();
    var flat = ours.All(o => o.LiveTensorsAfter == o.LiveTensorsBefore);
    s.AppendLine($"- Native tensor handles {(flat ? "flat" : "NOT flat")} over the timed steps of every round (`DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount`, table above).");
    s.AppendLine($"- C# process working set: {MiB(workingSetStart)} MiB at start, {MiB(workingSetModel)} MiB after building the model, {MiB(workingSetEnd)} MiB at the end; " +
                 $"managed allocation {Stats.Median(ours.Select(o => (double)o.ManagedBytesPerStep)) / 1024:F0} KiB per step.");
    var disturbedKept = othersPerRound.Count(o => o > options.MaxOtherCpu / 100);
    s.AppendLine($"- Other processes used {otherCpu:F1} of the machine's {capacity:F1} core-seconds during the whole run ({otherCpu / capacity:P1}, /proc/stat). " +
                 $"Each round waited (up to {options.MaxWait} s) for them to calm down; rounds during which they took more than {options.MaxOtherCpu}% " +
                 $"were discarded and run again (at most {options.Retries} times): " +
                 $"{discarded.Count} discarded" + (discarded.Count > 0 ? $" ({string.Join("; ", discarded)})" : "") + "." +
                 (disturbedKept > 0 ? $" **{disturbedKept} kept round(s) are still disturbed: rerun on an idle machine.**" : ""));
    s.AppendLine($"- Loss after each C# round: {string.Join(", ", ours.Select(o => o.LastLoss.ToString("F4", CultureInfo.InvariantCulture)))}.");
    s.AppendLine();
    s.AppendLine("Step times of every round (ms):");
    s.AppendLine();
    for (var r = 0; r < options.Rounds; r++)
    {
        s.AppendLine($"- round {r + 1}: PyTorch [{string.Join(", ", theirs[r].StepSeconds.Select(Ms))}]; C# [{string.Join(", ", ours[r].StepSeconds.Select(Ms))}]");
    }
    return s.ToString();
}

static string Layout(TorchSharpSide side) => side.ChannelsLast
    ? "channels-last (batch and Conv2d weights laid out NHWC behind NCHW sizes)"
    : "contiguous NCHW";
