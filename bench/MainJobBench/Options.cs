using static MLNetNormalization.Bench.OptionValues;

namespace MLNetNormalization.Bench;

/// <summary>Command-line options of the main-job benchmark.</summary>
internal sealed class Options
{
    public string Norm { get; private set; } = "mn:k=2";
    public int BatchSize { get; private set; } = 128;
    public int Epochs { get; private set; } = 2;
    public int Rounds { get; private set; } = 4;
    public int? TrainImages { get; private set; }
    public int Threads { get; private set; } = Environment.ProcessorCount;
    public int Seed { get; private set; }
    public string DataDirectory { get; private set; } = "/usr/share/datasets/fashion-mnist";
    public string Output { get; private set; } = "bench/results.md";
    public double MaxOtherCpu { get; private set; } = 10;
    public int MaxWait { get; private set; } = 30;
    public bool Help { get; private set; }
    public IReadOnlyList<string> Arguments { get; private set; } = [];

    public const string Usage = """
        MainJobBench: the main job, LeNet on Fashion-MNIST, trained in one process two ways, in interleaved rounds:
          ML.NET: samples/FashionMnistTraining's own code (compiled in): MLContext, the FashionMnistData views,
                  MapValueToKey -> ImageClassifierWithNorm -> MapKeyToValue, Fit, ml.Model.Save, Evaluate;
          engine: the training engine used directly, as the sample did before: FashionMnist's ImageDataset,
                  Backbone.Create, ClassifierTrainer.Train with the options ImageClassifierWithNorm resolves to,
                  ClassifierTrainer.Evaluate;
        both with the same normalizer, batch size, seed and thread count and the sample's other defaults. Reports
        each one's time per epoch (target: ML.NET / engine <= 1.10x), the whole job's time and its test accuracy,
        and writes its section of bench/results.md. The defaults are the real measurement (about 10 minutes on
        2 cores); run it alone on the machine.

        Usage: dotnet run -c Release --project bench/MainJobBench -- [options]

          --norm SPEC       normalizer (default mn:k=2, as README command 1)
          --batch-size N    examples per step (default 128)
          --epochs N        epochs per training (default 2)
          --rounds N        rounds, each training once each way; odd rounds start with ML.NET (default 4)
          --train-images N  train on the first N training images (default all 60,000); for a quick check
          --threads N       torch.set_num_threads for both (default: Environment.ProcessorCount)
          --seed N          the MLContext's, the trainer's and the engine's seed (default 0)
          --data-dir PATH   folder of the Fashion-MNIST .gz files (default /usr/share/datasets/fashion-mnist)
          --output PATH     results file, relative to the repository root (default bench/results.md)
          --max-other-cpu P before each round, wait until other processes take at most P% of the CPU (default 10)
          --max-wait S      ... for at most S seconds (default 30; 0: never wait)
          --help            this text

        Exit code 0 when the measurement completed (whatever the ratio), nonzero on errors.
        """;

    public static Options Parse(string[] args)
    {
        var options = new Options { Arguments = args };
        Walk(args, [], flag => options.Help = true, (name, value) =>
        {
            switch (name)
            {
                case "--norm": options.Norm = value; break;
                case "--batch-size": options.BatchSize = Positive(name, value); break;
                case "--epochs": options.Epochs = Positive(name, value); break;
                case "--rounds": options.Rounds = Positive(name, value); break;
                case "--train-images": options.TrainImages = Positive(name, value); break;
                case "--threads": options.Threads = Positive(name, value); break;
                case "--seed": options.Seed = NonNegative(name, value); break;
                case "--data-dir": options.DataDirectory = value; break;
                case "--output": options.Output = value; break;
                case "--max-other-cpu": options.MaxOtherCpu = Percent(name, value); break;
                case "--max-wait": options.MaxWait = NonNegative(name, value); break;
                default: throw Unknown(name);
            }
        });
        return options;
    }
}
