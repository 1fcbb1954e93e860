using System.Globalization;

using static MLNetNormalization.Bench.OptionValues;

namespace MLNetNormalization.Bench;

/// <summary>Command-line options of the normalizer benchmark (all "--name value" pairs, plus flags).</summary>
internal sealed class Options
{
    /// <summary>The normalizers timed by default: every kind of NormalizerFactory, with parameters that fit ResNet-20's 16/32/64 channels.</summary>
    public static readonly string[] DefaultNorms =
    [
        "bn", "ghost:b=32", "bgn:g=8,b=2", "mn:k=2", "mgn:k=2", "hn:g=1", "hn:mean=gn8,std=en1", "en:g=1", "gn:g=8", "ln", "in", "sn",
    ];

    public int Threads { get; private set; } = Environment.ProcessorCount;
    public IReadOnlyList<int> Batches { get; private set; } = [128, 8];
    public IReadOnlyList<string> Norms { get; private set; } = DefaultNorms;
    public int Rounds { get; private set; } = 5;
    public int? Steps { get; private set; }
    public int? Warmup { get; private set; }
    public string Output { get; private set; } = "bench/results.md";
    public double MaxOtherCpu { get; private set; } = 10;
    public int Retries { get; private set; } = 2;
    public double MaxWait { get; private set; } = 900;
    public bool Natives { get; private set; } = true;
    public bool GeneralPaths { get; private set; } = true;
    public bool ChannelsLast { get; private set; } = true;
    public int MemorySteps { get; private set; } = 2000;
    public int MemoryBatch { get; private set; } = 4;
    public bool Profile { get; private set; }
    public bool Help { get; private set; }

    /// <summary>The arguments as given, to record the command line.</summary>
    public IReadOnlyList<string> Arguments { get; private set; } = [];

    /// <summary>Timed steps per round at a batch size: --steps, else 4 at batch >= 64 (a step takes ~0.4 s there) and 16 below.</summary>
    public int StepsFor(int batch) => Steps ?? (batch >= 64 ? 4 : 16);

    /// <summary>Untimed steps at the start of every round: --warmup, else 1 at batch >= 64 and 4 below.</summary>
    public int WarmupFor(int batch) => Warmup ?? (batch >= 64 ? 1 : 4);

    public const string Usage = """
        NormBench: times a ResNet-20 training step (CIFAR shape 3x32x32, random data, cross-entropy, SGD) with
        each normalizer built by NormalizerFactory against the reference, TorchSharp's nn.BatchNorm2d, in the same
        rounds, and writes its section of bench/results.md: per batch size the median step time, the ratio to the
        reference and each normalizer's target (issue 25: at batch >= 64 bn and ghost <= 1.05x and the others
        <= 1.15x; below 64 every normalizer <= 1.35x); then whether live tensors and RSS stay flat over
        --memory-steps training steps (PASS: live tensors equal, RSS growth <= 16 MiB after the warm-up).

        Usage: dotnet run -c Release --project bench/NormBench -- [options]

          --batches LIST  batch sizes, comma-separated (default 128,8)
          --norms LIST    NormalizerFactory strings, separated by ';' (quote the list), default:
                          "bn;ghost:b=32;bgn:g=8,b=2;mn:k=2;mgn:k=2;hn:g=1;hn:mean=gn8,std=en1;en:g=1;gn:g=8;ln;in;sn".
                          A ghost batch of b >= the batch size is replaced by b = batch/2 (ghost:b=4 at batch 8).
          --general-paths on|off  also time each normalizer on its general path, the statistics algebra as libtorch
                          ops differentiated by autograd (the reference its fast path is tested against; default on)
          --natives on|off  also time TorchSharp's nn.GroupNorm(8, C), nn.GroupNorm(1, C) and
                          nn.InstanceNorm2d(C, affine: true), libtorch's fused kernels, for comparison (default on)
          --rounds N      rounds; each round times every row once, round-robin (default 5)
          --steps N       timed steps per row and round (default 4 at batch >= 64, 16 below)
          --warmup N      untimed steps before them in every round (default 1 at batch >= 64, 4 below)
          --threads N     intra-op threads, torch.set_num_threads (default: Environment.ProcessorCount)
          --channels-last on|off  batch and conv weights channels-last, as the engine trains (default on)
          --output PATH   results file, relative to the repository root (default bench/results.md)
          --max-other-cpu P  a measurement during which other processes took more than P% of the machine's
                          CPU is discarded and run again (default 10)
          --retries N     how many times a disturbed measurement is run again before it is kept anyway (default 2)
          --max-wait S    before each measurement, wait (up to 60 s) until other processes take at most
                          --max-other-cpu of the CPU, for at most S seconds over the whole run (default 900; 0: never wait)
          --memory-steps N  after the timing, train each normalizer's model and the reference's N steps and read
                          TorchSharp's live tensors and the process's RSS after 100 warm-up steps and every 250
                          after; 0 skips the phase, else more than 100 (default 2000)
          --memory-batch N  batch size of the memory phase (default 4: the phase takes minutes, not an hour)
          --profile       instead of the benchmark, time the phases of the step (forward, backward, SGD, scope
                          dispose), count the tensors a step creates, and measure one small-table op, per row;
                          uses --batches, --norms, --natives, --steps, --warmup, --threads, --output; writes its
                          own section of the results file
          --help          this text

        Exit code 0 when the measurement completed (whatever the ratios), nonzero on errors.
        """;

    public static Options Parse(string[] args)
    {
        var options = new Options { Arguments = args };
        Walk(args, ["--profile"], flag => { if (flag == "--profile") options.Profile = true; else options.Help = true; }, (name, value) =>
        {
            switch (name)
            {
                case "--batches": options.Batches = List(name, value, ',').Select(b => Positive(name, b)).Distinct().ToArray(); break;
                case "--norms": options.Norms = List(name, value, ';'); break;
                case "--rounds": options.Rounds = Positive(name, value); break;
                case "--steps": options.Steps = Positive(name, value); break;
                case "--warmup": options.Warmup = NonNegative(name, value); break;
                case "--threads": options.Threads = Positive(name, value); break;
                case "--channels-last": options.ChannelsLast = OnOff(name, value); break;
                case "--natives": options.Natives = OnOff(name, value); break;
                case "--general-paths": options.GeneralPaths = OnOff(name, value); break;
                case "--output": options.Output = value; break;
                case "--max-other-cpu": options.MaxOtherCpu = Percent(name, value); break;
                case "--retries": options.Retries = NonNegative(name, value); break;
                case "--max-wait": options.MaxWait = NonNegative(name, value); break;
                case "--memory-steps": options.MemorySteps = NonNegative(name, value); break;
                case "--memory-batch": options.MemoryBatch = Positive(name, value); break;
                default: throw Unknown(name);
            }
        });
        if (options.MemorySteps is > 0 and <= MemoryPhase.WarmupSteps)
            throw new ArgumentException($"--memory-steps must be 0 (no memory phase) or more than the {MemoryPhase.WarmupSteps} warm-up steps, got {options.MemorySteps}.");
        return options;
    }

    private static string[] List(string name, string value, char separator)
    {
        var items = value.Split(separator, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return items.Length > 0 ? items : throw new ArgumentException($"{name} needs at least one item, got '{value}'.");
    }
}
