using System.Globalization;

using static MLNetNormalization.Bench.OptionValues;

namespace MLNetNormalization.Bench;

/// <summary>Command-line options of the benchmark (all "--name value" pairs, plus --help).</summary>
internal sealed class Options
{
    public int Threads { get; private set; } = Environment.ProcessorCount;
    public int Batch { get; private set; } = 128;
    public int Warmup { get; private set; } = 2;
    public int Steps { get; private set; } = 5;
    public int Rounds { get; private set; } = 5;
    public string Output { get; private set; } = "bench/results.md";
    public string Python { get; private set; } = "/usr/bin/python3";
    public double MaxOtherCpu { get; private set; } = 5;
    public int Retries { get; private set; } = 3;
    public int MaxWait { get; private set; } = 120;
    public bool ChannelsLast { get; private set; } = true;
    public bool Diagnose { get; private set; }
    public bool Help { get; private set; }

    /// <summary>The arguments as given, to record the command line.</summary>
    public IReadOnlyList<string> Arguments { get; private set; } = [];

    public const string Usage = """
        ResNetBench: times a ResNet-20 training step (CIFAR shape 3x32x32, random data, libtorch batch_norm)
        through the C# binding and in PyTorch (bench/pytorch_resnet20.py), interleaved, and writes its
        section of bench/results.md.

        Usage: dotnet run -c Release --project bench/ResNetBench -- [options]

          --threads N    intra-op threads on both sides (default: Environment.ProcessorCount)
          --channels-last on|off  the C# side's memory layout: channels-last batch and conv weights (the engine's
                         default), or contiguous NCHW (default on)
          --batch N      batch size (default 128)
          --warmup N     untimed steps at the start of every round (default 2)
          --steps N      timed steps per round (default 5)
          --rounds N     rounds per framework, interleaved (default 5)
          --output PATH  results file, relative to the repository root (default bench/results.md)
          --python PATH  the Python interpreter with PyTorch (default /usr/bin/python3)
          --max-other-cpu P  a round during which other processes took more than P% of the machine's CPU
                         is discarded and run again (default 5)
          --retries N    how many times a disturbed round is run again before it is kept anyway (default 3)
          --max-wait S   before each round, wait up to S seconds for the other processes to calm down
                         (under --max-other-cpu); 0 starts every round at once (default 120)
          --diagnose     instead of the benchmark, time the phases (forward, backward, update, scope dispose) of
                         the C# step in both memory layouts, contiguous and channels-last, taking turns step by step,
                         and count minor page faults; uses --threads, --batch, --warmup, --steps; writes no file
          --help         this text

        Exit code 0 when the measurement completed (whatever the ratio), nonzero on errors.
        """;

    public static Options Parse(string[] args)
    {
        var options = new Options { Arguments = args };
        Walk(args, ["--diagnose"], flag => { if (flag == "--diagnose") options.Diagnose = true; else options.Help = true; }, (name, value) =>
        {
            switch (name)
            {
                case "--threads": options.Threads = Positive(name, value); break;
                case "--channels-last": options.ChannelsLast = OnOff(name, value); break;
                case "--batch": options.Batch = Positive(name, value); break;
                case "--warmup": options.Warmup = NonNegative(name, value); break;
                case "--steps": options.Steps = Positive(name, value); break;
                case "--rounds": options.Rounds = Positive(name, value); break;
                case "--output": options.Output = value; break;
                case "--python": options.Python = value; break;
                case "--max-other-cpu": options.MaxOtherCpu = Percent(name, value); break;
                case "--retries": options.Retries = NonNegative(name, value); break;
                case "--max-wait": options.MaxWait = NonNegative(name, value); break;
                default: throw Unknown(name);
            }
        });
        return options;
    }
}
