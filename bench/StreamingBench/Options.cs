using static MLNetNormalization.Bench.OptionValues;

namespace MLNetNormalization.Bench;

/// <summary>Command-line options of the streaming benchmark.</summary>
internal sealed class Options
{
    public IReadOnlyList<int> Sizes { get; private set; } = [1_000, 10_000, 30_000];
    public IReadOnlyList<string> Formats { get; private set; } = ["jpeg", "png"];
    public int BatchSize { get; private set; } = 64;
    public int FashionRounds { get; private set; } = 2;
    public int Threads { get; private set; } = Environment.ProcessorCount;
    public string DataDirectory { get; private set; } = "/usr/share/datasets/fashion-mnist";
    public string Output { get; private set; } = "bench/results.md";
    public string? ChildFolder { get; private set; }
    public bool ChildFashion { get; private set; }
    public bool Help { get; private set; }
    public IReadOnlyList<string> Arguments { get; private set; } = [];

    public const string Usage = """
        StreamingBench: Fit's data path on image sets larger than memory would comfortably hold. It writes Fashion-MNIST
        training images, enlarged 8x to 224x224 and tinted by class (RGB), as JPEG and PNG image folders, and for each
        folder and size runs, in a process of its own so that its peak RSS is its own:
          1. reading: ImageFolder.Load -> MapValueToKey -> LoadRawImageBytes, into the trainer's image cache
             (TrainingRows.Read: decoded, resized, kept as R, G, B bytes in a temporary file), in images/s;
          2. an epoch's loading alone: the batches the trainer's background thread assembles from the cache, in images/s;
          3. an epoch of training a small backbone (two ConvNorm units with BN, 3->16 stride 4, 16->32 stride 2, a linear
             classifier) from the cache, in images/s;
        and reports the process's peak RSS (VmHWM). Then, on the 60,000 Fashion-MNIST training images (28x28), it times
        epochs of LeNet with BN trained from the image cache against the same floats held in memory, taking turns.
        Targets: peak RSS at the largest size <= 1.5x that at the smallest; Fashion-MNIST throughput from the cache >=
        0.95x that from memory; an epoch's loading >= 3x training. Writes its section of bench/results.md.

        Usage: dotnet run -c Release --project bench/StreamingBench -- [options]

          --sizes LIST        image counts, comma-separated (default 1000,10000,30000)
          --formats LIST      jpeg, png or both (default jpeg,png)
          --batch-size N      batch size of the small backbone (default 64)
          --fashion-rounds N  rounds of the Fashion-MNIST comparison, an epoch each way a round (default 2)
          --threads N         torch.set_num_threads (default: Environment.ProcessorCount)
          --data-dir PATH     Fashion-MNIST .gz files (default /usr/share/datasets/fashion-mnist)
          --output PATH       results file, relative to the repository root (default bench/results.md)
          --help              this text

        Exit code 0 when the measurement completed (whatever it measured), nonzero on errors.
        """;

    public static Options Parse(string[] args)
    {
        var options = new Options { Arguments = args };
        Walk(args, ["--child-fashion"], flag => { if (flag == "--child-fashion") options.ChildFashion = true; else options.Help = true; }, (name, value) =>
        {
            switch (name)
            {
                case "--sizes": options.Sizes = [.. value.Split(',').Select(v => Positive(name, v.Trim()))]; break;
                case "--formats":
                    options.Formats = [.. value.Split(',').Select(v => v.Trim().ToLowerInvariant())];
                    if (options.Formats.Any(f => f is not ("jpeg" or "png"))) throw new ArgumentException($"--formats {value}: give jpeg, png or both.");
                    break;
                case "--batch-size": options.BatchSize = Positive(name, value); break;
                case "--fashion-rounds": options.FashionRounds = Positive(name, value); break;
                case "--threads": options.Threads = Positive(name, value); break;
                case "--data-dir": options.DataDirectory = value; break;
                case "--output": options.Output = value; break;
                case "--child-folder": options.ChildFolder = value; break;
                default: throw Unknown(name);
            }
        });
        return options;
    }
}
