using static MLNetNormalization.Bench.OptionValues;

namespace MLNetNormalization.Bench;

/// <summary>Command-line options of the ONNX benchmark.</summary>
internal sealed class Options
{
    public int Rounds { get; private set; } = 3;
    public int BatchImages { get; private set; } = 2048;
    public int SingleImages { get; private set; } = 300;
    public int ColdStarts { get; private set; } = 5;
    public int Threads { get; private set; } = Environment.ProcessorCount;
    public string Output { get; private set; } = "bench/results.md";
    public bool Help { get; private set; }
    public IReadOnlyList<string> Arguments { get; private set; } = [];

    public const string Usage = """
        OnnxBench: the exported ONNX model (ONNX Runtime) against the TorchSharp transformer it came from, for LeNet and
        ResNet-20 with bn and mn:k=2 on 28x28 gray Fashion-MNIST images. It writes 500 training images as an image folder,
        runs `mlnorm train` on it for each backbone and normalizer (one epoch; model.zip, model.onnx and the two consumer
        projects), and measures, in rounds that take turns:
          1. batch throughput at batch 64, images/s: the TorchSharp transformer's Transform (it scores 64 rows a forward
             pass), ONNX Runtime's InferenceSession on [64, 1, 28, 28], and ML.NET's ApplyOnnxModel Transform;
          2. single-image latency, median ms: a PredictionEngine of the TorchSharp transformer, one of ApplyOnnxModel, and
             InferenceSession on [1, 1, 28, 28];
          3. cold start (bn): the wall time of the published consume/ (model.zip, TorchSharp) and consume-onnx/
             (model.onnx, ONNX Runtime) programs from process start to their exit after printing one image's prediction;
          4. deployed size: the dotnet publish folder of each consumer, model included, MB on disk.
        Targets: ONNX Runtime's batch throughput >= TorchSharp's at batch 64; first prediction within 1 s through ONNX
        Runtime for LeNet and ResNet-20. Writes its section of bench/results.md. Run it alone: other processes on the
        machine change every number.

        Usage: dotnet run -c Release --project bench/OnnxBench -- [options]

          --rounds N         rounds of the throughput and latency measurements (default 3)
          --batch-images N   images scored per throughput measurement (default 2048)
          --single-images N  single-image predictions per latency measurement (default 300)
          --cold-starts N    process starts per consumer (default 5)
          --threads N        torch.set_num_threads and ONNX Runtime's intra-op threads (default: Environment.ProcessorCount)
          --output PATH      results file, relative to the repository root (default bench/results.md)
          --help             this text

        Exit code 0 when the measurement completed (whatever it measured), nonzero on errors.
        """;

    public static Options Parse(string[] args)
    {
        var options = new Options { Arguments = args };
        Walk(args, [], _ => options.Help = true, (name, value) =>
        {
            switch (name)
            {
                case "--rounds": options.Rounds = Positive(name, value); break;
                case "--batch-images": options.BatchImages = Positive(name, value); break;
                case "--single-images": options.SingleImages = Positive(name, value); break;
                case "--cold-starts": options.ColdStarts = Positive(name, value); break;
                case "--threads": options.Threads = Positive(name, value); break;
                case "--output": options.Output = value; break;
                default: throw Unknown(name);
            }
        });
        return options;
    }
}
