using static MLNetNormalization.Bench.OptionValues;

namespace MLNetNormalization.Bench;

/// <summary>Command-line options of the loader benchmark.</summary>
internal sealed class Options
{
    public int PerClass { get; private set; } = 600;
    public int Rounds { get; private set; } = 3;
    public int BatchSize { get; private set; } = 128;
    public int TrainSteps { get; private set; } = 30;
    public int Threads { get; private set; } = Environment.ProcessorCount;
    public string DataDirectory { get; private set; } = "/usr/share/datasets/fashion-mnist";
    public string Output { get; private set; } = "bench/results.md";
    public bool Help { get; private set; }
    public IReadOnlyList<string> Arguments { get; private set; } = [];

    public const string Usage = """
        LoaderBench: writes Fashion-MNIST training images as PNG files into an image folder (one subfolder per
        class, ImageFolder.Save), then measures, in images/s read by one cursor:
          1. decoding: ImageFolder.Load -> MapValueToKey -> LoadImages -> ResizeImages (28x28) ->
             ExtractPixels (one plane), the ImageAnalytics pipeline a user writes for the image trainer;
          2. file reading alone: ImageFolder.Load -> LoadRawImageBytes (no decoding);
          3. consumption: LeNet with BN training steps on batches of the decoded images, in images/s with
             --threads threads (torch.set_num_threads);
        and reports decoding's rate against the consumption rate, target >= 3x. Writes its section of
        bench/results.md.

        Usage: dotnet run -c Release --project bench/LoaderBench -- [options]

          --per-class N   PNG files to write per class, the first N training images of each (default 600: 6,000 files)
          --rounds N      rounds of each measurement; medians are reported (default 3)
          --batch-size N  batch size of training (default 128)
          --train-steps N timed training steps per round, after one untimed (default 30)
          --threads N     torch.set_num_threads for training (default: Environment.ProcessorCount)
          --data-dir PATH Fashion-MNIST .gz files (default /usr/share/datasets/fashion-mnist)
          --output PATH   results file, relative to the repository root (default bench/results.md)
          --help          this text

        Exit code 0 when the measurement completed (whatever the ratio), nonzero on errors.
        """;

    public static Options Parse(string[] args)
    {
        var options = new Options { Arguments = args };
        Walk(args, [], flag => options.Help = true, (name, value) =>
        {
            switch (name)
            {
                case "--per-class": options.PerClass = Positive(name, value); break;
                case "--rounds": options.Rounds = Positive(name, value); break;
                case "--batch-size": options.BatchSize = Positive(name, value); break;
                case "--train-steps": options.TrainSteps = Positive(name, value); break;
                case "--threads": options.Threads = Positive(name, value); break;
                case "--data-dir": options.DataDirectory = value; break;
                case "--output": options.Output = value; break;
                default: throw Unknown(name);
            }
        });
        return options;
    }
}
