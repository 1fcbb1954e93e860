using static MLNetNormalization.Bench.OptionValues;

namespace MLNetNormalization.Bench;

/// <summary>Command-line options of the loader benchmark.</summary>
internal sealed class Options
{
    public int Images { get; private set; } = 6000;
    public int Rounds { get; private set; } = 3;
    public int BatchSize { get; private set; } = 128;
    public int TrainSteps { get; private set; } = 30;
    public int Threads { get; private set; } = Environment.ProcessorCount;
    public string DataDirectory { get; private set; } = "/usr/share/datasets/fashion-mnist";
    public string Output { get; private set; } = "bench/results.md";
    public bool Help { get; private set; }
    public IReadOnlyList<string> Arguments { get; private set; } = [];

    public const string Usage = """
        LoaderBench: writes Fashion-MNIST training images as PNG files, one folder per class, then measures
          1. decoding: the data view pipeline LoadImagesFromDirectory -> MapValueToKey -> LoadImages ->
             ResizeImages (to 32x32) -> ExtractPixels, read by a cursor, in images/s on one thread;
          2. augmentation: the trainer's batch assembler (random crop after 4 pixels of padding, flip,
             standardization) over the decoded images, in images/s on its one background thread;
          3. consumption: LeNet with BN training steps on those batches, in images/s with Torch.Threads threads;
        and reports decoded+augmented images/s (one image through both stages) against the consumption rate,
        target >= 3x. Writes its section of bench/results.md.

        Usage: dotnet run -c Release --project bench/LoaderBench -- [options]

          --images N      PNG files to write and decode (default 6000)
          --rounds N      rounds of each measurement; medians are reported (default 3)
          --batch-size N  batch size of augmentation and training (default 128)
          --train-steps N timed training steps per round, after one untimed (default 30)
          --threads N     Torch.Threads for training (default: Environment.ProcessorCount)
          --data-dir PATH Fashion-MNIST .gz files (default /usr/share/datasets/fashion-mnist)
          --output PATH   results file, relative to the repository root (default bench/results.md)
          --help          this text

        Exit code 0 when the measurement completed (whatever the ratio), nonzero on errors.
        """;

    public static Options Parse(string[] args)
    {
        var options = new Options { Arguments = args };
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name is "--help" or "-h")
            {
                options.Help = true;
                continue;
            }
            var value = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.");
            switch (name)
            {
                case "--images": options.Images = Positive(name, value); break;
                case "--rounds": options.Rounds = Positive(name, value); break;
                case "--batch-size": options.BatchSize = Positive(name, value); break;
                case "--train-steps": options.TrainSteps = Positive(name, value); break;
                case "--threads": options.Threads = Positive(name, value); break;
                case "--data-dir": options.DataDirectory = value; break;
                case "--output": options.Output = value; break;
                default: throw new ArgumentException($"Unknown option {name}; --help lists them.");
            }
        }
        return options;
    }
}
