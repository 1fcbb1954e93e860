using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using Microsoft.ML;
using MLNetNormalization;
using MLNetNormalization.Bench;
using MLNetNormalization.Samples.FashionMnistTraining;
using MLNetNormalization.Backbones;
using MLNetNormalization.Data;
using MLNetNormalization.Training;
using TorchSharp;
using static MLNetNormalization.Bench.BenchHost;

// The main job through the ML.NET pipeline (the sample's code) against the engine used directly (the sample before it):
// interleaved rounds in one process, per-epoch time, the whole job's time and test accuracy of each, and the per-epoch
// ratio against the 1.10x target. A measurement, not a test: exit code 0 whatever the ratio, nonzero only when something failed.

const double Target = 1.10;
const string StartMarker = "<!-- mainjob:start -->";
const string EndMarker = "<!-- mainjob:end -->";

return BenchHost.Main(args, Options.Parse, options => options.Help, Options.Usage, Run);

static int Run(Options options)
{
    var output = Path.GetFullPath(Path.Combine(FindRepoRoot(), options.Output));
    torch.set_num_threads(options.Threads);
    var date = DateTime.UtcNow;
    // The sample's options with this run's normalizer, size and seed; everything else at the sample's defaults.
    var sample = new SampleOptions
    {
        Normalizer = options.Norm, BatchSize = options.BatchSize, Epochs = options.Epochs, TrainImages = options.TrainImages,
        Seed = options.Seed, DataDirectory = options.DataDirectory,
    };
    var scratch = Directory.CreateTempSubdirectory("mlnorm-mainjobbench-").FullName;
    try
    {
        Console.WriteLine($"LeNet with \"{options.Norm}\", batch {options.BatchSize}, {Count(options.Epochs, "epoch")}, seed {options.Seed}, " +
                          $"torch.get_num_threads() = {torch.get_num_threads()}, {Count(options.Rounds, "round")}");
        var cpuStart = CpuSnapshot.Take();
        var runs = new List<JobRun>();
        for (var round = 1; round <= options.Rounds; round++)
        {
            if (options.MaxWait > 0)
            {
                var waited = QuietMachine.Wait(options.MaxOtherCpu / 100, TimeSpan.FromSeconds(options.MaxWait));
                if (waited >= TimeSpan.FromSeconds(options.MaxWait))
                    Console.WriteLine($"round {round}: the machine was not quiet within {options.MaxWait} s; running anyway");
            }
            var mlNetFirst = round % 2 == 1;
            for (var turn = 0; turn < 2; turn++)
            {
                // Each side's garbage (the other side's 60,000 images, scoring buffers) is collected before it starts, not during.
                GC.Collect();
                GC.WaitForPendingFinalizers();
                var before = CpuSnapshot.Take();
                var run = (turn == 0) == mlNetFirst ? MlNet(sample, Path.Combine(scratch, "model.zip"), round) : Engine(sample, round);
                var (other, capacity) = CpuSnapshot.Others(before, CpuSnapshot.Take());
                run = run with { OtherCpuShare = other / capacity };
                runs.Add(run);
                Console.WriteLine(Describe(run));
            }
        }
        var (otherCpu, capacityCpu) = CpuSnapshot.Others(cpuStart, CpuSnapshot.Take());

        var summary = new Summary(runs);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"epoch, median: ML.NET {summary.MlNetEpoch:F2} s, engine {summary.EngineEpoch:F2} s: {summary.EpochRatio:F3}x (target <= {Target:F2}x) {Verdict(summary.EpochRatio)}; " +
            $"whole job, median: ML.NET {summary.MlNetTotal:F1} s, engine {summary.EngineTotal:F1} s: {summary.TotalRatio:F3}x"));
        Console.WriteLine($"other processes used {otherCpu:F1} of {capacityCpu:F1} core-seconds ({otherCpu / capacityCpu:P1})");
        ResultsFile.WriteSection(output, StartMarker, EndMarker, Report(options, date, sample, runs, summary, otherCpu, capacityCpu));
        Console.WriteLine($"wrote {output}");
        return 0;
    }
    finally
    {
        Directory.Delete(scratch, recursive: true);
    }
}

// What samples/FashionMnistTraining does, with its own code, less the printing: the views, the pipeline, Fit, Save, Evaluate.
static JobRun MlNet(SampleOptions sample, string modelPath, int round)
{
    var clock = Stopwatch.StartNew();
    var ml = new MLContext(sample.Seed);
    var (train, test) = FashionMnistJob.Load(ml, sample.DataDirectory, sample.TrainImages);
    var loaded = clock.Elapsed;
    var epochs = new EpochClock();
    var model = FashionMnistJob.Pipeline(ml, sample.ClassifierOptions(epochs.Record, CancellationToken.None)).Fit(train);
    var fitted = clock.Elapsed;
    using var classifier = model.OfType<ImageClassificationTransformer>().Single();
    FashionMnistJob.Save(ml, model, train.Schema, modelPath);
    var saved = clock.Elapsed;
    var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
    var evaluated = clock.Elapsed;
    return new JobRun(round, "ML.NET", loaded.TotalSeconds, (fitted - loaded).TotalSeconds, epochs.Seconds, (saved - fitted).TotalSeconds,
        (evaluated - saved).TotalSeconds, evaluated.TotalSeconds, metrics.MicroAccuracy, metrics.LogLoss, 0);
}

// What the sample did before it went through ML.NET: the engine on FashionMnist's ImageDataset, with the options
// ImageClassifierWithNorm resolves the sample's to, so that both sides train the same schedule on the same batches.
static JobRun Engine(SampleOptions sample, int round)
{
    var clock = Stopwatch.StartNew();
    var train = FashionMnist.LoadTrain(sample.DataDirectory);
    if (sample.TrainImages is { } count && count < train.Count) train = train.Subset([.. Enumerable.Range(0, count)]);
    var test = FashionMnist.LoadTest(sample.DataDirectory);
    var loaded = clock.Elapsed;
    var epochs = new EpochClock();
    var options = sample.ClassifierOptions(epochs.Record, CancellationToken.None);
    // As ImageClassificationEstimator.Fit does: seed, then build, so that both sides start from the same weights.
    torch.manual_seed(options.Seed!.Value);
    using var model = Backbone.Create(options.Architecture, train.Shape, train.ClassNames.Count, new NormalizerPlan(options.NormalizerSpecification!, options.NormalizerPlacement));
    var trainer = new ClassifierTrainer(EngineOptions(options));
    trainer.Train(model, train, validation: null, options.MetricsCallback);
    var fitted = clock.Elapsed;
    var metrics = trainer.Evaluate(model, test);
    var evaluated = clock.Elapsed;
    return new JobRun(round, "engine", loaded.TotalSeconds, (fitted - loaded).TotalSeconds, epochs.Seconds, 0,
        (evaluated - fitted).TotalSeconds, evaluated.TotalSeconds, metrics.MicroAccuracy, metrics.LogLoss, 0);
}

// ImageClassifierWithNormOptions.Resolve's TrainingOptions, except that the engine standardizes the bytes itself with
// Fashion-MNIST's mean and std, where the ML.NET side reads views standardized as ExtractPixels would.
static TrainingOptions EngineOptions(ImageClassifierWithNormOptions o) => new()
{
    Epochs = o.Epochs, BatchSize = o.BatchSize, LearningRate = o.LearningRate, Momentum = o.Momentum, WeightDecay = o.WeightDecay,
    NormWeightDecay = o.NormWeightDecay, GateWeightDecay = o.GateWeightDecay, Schedule = o.Schedule, WarmupEpochs = o.WarmupEpochs,
    LabelSmoothing = o.LabelSmoothing, CropPadding = o.CropPadding, HorizontalFlip = o.HorizontalFlip, Seed = (ulong)(uint)o.Seed!.Value,
    PixelMean = [FashionMnist.PixelMean], PixelStd = [FashionMnist.PixelStd],
};

static string Describe(JobRun r) => string.Create(CultureInfo.InvariantCulture,
    $"round {r.Round} {r.Side,-6}: load {r.LoadSeconds:F1} s, fit {r.FitSeconds:F1} s (epochs {string.Join(", ", r.EpochSeconds.Select(s => s.ToString("F1", CultureInfo.InvariantCulture)))} s), " +
    $"save {r.SaveSeconds:F1} s, evaluate {r.EvaluateSeconds:F1} s, total {r.TotalSeconds:F1} s; test MicroAccuracy {r.MicroAccuracy:P2}, LogLoss {r.LogLoss:F4}; " +
    $"others took {r.OtherCpuShare:P1} of the CPU");

static string Verdict(double ratio) => ratio <= Target ? "PASS" : "FAIL";

static string Count(int n, string noun) => $"{n} {noun}{(n == 1 ? "" : "s")}";

static string Report(Options options, DateTime date, SampleOptions sample, List<JobRun> runs, Summary summary, double otherCpu, double capacityCpu)
{
    var f = CultureInfo.InvariantCulture;
    var text = new StringBuilder();
    text.AppendLine("## The main job: ML.NET pipeline vs the engine (bench/MainJobBench)");
    text.AppendLine();
    text.AppendLine(f, $"- Command: `{RunCommand("bench/MainJobBench", options.Arguments)}`, {date:yyyy-MM-dd HH:mm} UTC");
    text.AppendLine(f, $"- Machine: {MachineDescription()}; Microsoft.ML {PackageVersion(typeof(MLContext).Assembly)}; TorchSharp {typeof(torch).Assembly.GetName().Version?.ToString(3)} (libtorch {torch.__version__}), torch.get_num_threads() = {torch.get_num_threads()}");
    text.AppendLine(f, $"- The job: LeNet with `{sample.Normalizer}` on {(sample.TrainImages is { } n ? $"the first {n:N0}" : "all 60,000")} Fashion-MNIST training images, batch {sample.BatchSize}, {Count(sample.Epochs, "epoch")}, seed {sample.Seed}, " +
                       $"the sample's other defaults (SGD, learning rate {sample.LearningRate}, momentum 0.9, weight decay {sample.WeightDecay}, {sample.Schedule} after 0.2 epochs of warm-up, no augmentation); " +
                       $"test metrics on the 10,000 test images. {Count(options.Rounds, "round")}, each training once each way, interleaved (odd rounds start with ML.NET).");
    text.AppendLine("- ML.NET: `samples/FashionMnistTraining`'s own code (`SampleOptions`, `FashionMnistJob`, compiled in): `MLContext(seed)`, the `FashionMnistData` views, " +
                    "`MapValueToKey` → `ImageClassifierWithNorm` → `MapKeyToValue`, `Fit`, `ml.Model.Save`, `ml.MulticlassClassification.Evaluate`.");
    text.AppendLine("- Engine: the sample as it was before: `FashionMnist`'s `ImageDataset`, `torch.manual_seed`, `Backbone.Create`, `ClassifierTrainer.Train` with the " +
                    "`TrainingOptions` the ML.NET options resolve to (the engine standardizes the bytes itself), `ClassifierTrainer.Evaluate`.");
    text.AppendLine("- Epoch: the time between the engine's epoch-end reports (`TrainingProgress.Elapsed`), as the sample prints it. Fit setup: the rest of `Fit` " +
                    "(ML.NET: fitting `MapValueToKey`, checking the options, reading the view into memory) or of `Train`. Total: load, fit, save and evaluate.");
    text.AppendLine(f, $"- Other processes used {otherCpu:F1} of the machine's {capacityCpu:F1} core-seconds during the rounds ({100 * otherCpu / capacityCpu:F0} %, /proc/stat).");
    text.AppendLine();
    text.AppendLine("| round | side | load s | fit setup s | epochs s | save s | evaluate s | total s | test MicroAccuracy | LogLoss | others' CPU |");
    text.AppendLine("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|");
    foreach (var r in runs)
        text.AppendLine(f, $"| {r.Round} | {r.Side} | {r.LoadSeconds:F1} | {r.FitSeconds - r.EpochSeconds.Sum():F1} | {string.Join(", ", r.EpochSeconds.Select(s => s.ToString("F1", f)))} | " +
                           $"{r.SaveSeconds:F1} | {r.EvaluateSeconds:F1} | {r.TotalSeconds:F1} | {r.MicroAccuracy:P2} | {r.LogLoss:F4} | {r.OtherCpuShare:P0} |");
    text.AppendLine();
    text.AppendLine("| median | ML.NET | engine | ML.NET / engine |");
    text.AppendLine("|---|---:|---:|---:|");
    text.AppendLine(f, $"| epoch s (every epoch of every round) | {summary.MlNetEpoch:F2} | {summary.EngineEpoch:F2} | **{summary.EpochRatio:F3}x** |");
    text.AppendLine(f, $"| whole job s | {summary.MlNetTotal:F1} | {summary.EngineTotal:F1} | {summary.TotalRatio:F3}x |");
    text.AppendLine(f, $"| test MicroAccuracy | {summary.MlNetAccuracy:P2} | {summary.EngineAccuracy:P2} | |");
    text.AppendLine();
    text.AppendLine(f, $"Per-epoch time, ML.NET / engine: **{summary.EpochRatio:F3}x** (target <= {Target:F2}x): **{Verdict(summary.EpochRatio)}**.");
    return text.ToString();
}

/// <summary>Each epoch's time from the engine's epoch-end reports: Elapsed counts from the start of training.</summary>
internal sealed class EpochClock
{
    private readonly List<double> _seconds = [];
    private TimeSpan _lastEnd;

    public IReadOnlyList<double> Seconds => _seconds;

    public void Record(TrainingProgress progress)
    {
        if (progress.Phase != TrainingPhase.EpochEnd) return;
        _seconds.Add((progress.Elapsed - _lastEnd).TotalSeconds);
        _lastEnd = progress.Elapsed;
    }
}

/// <summary>One training of the job one way, in seconds; OtherCpuShare is the share of the machine's CPU other processes took meanwhile.</summary>
internal sealed record JobRun(int Round, string Side, double LoadSeconds, double FitSeconds, IReadOnlyList<double> EpochSeconds, double SaveSeconds,
                              double EvaluateSeconds, double TotalSeconds, double MicroAccuracy, double LogLoss, double OtherCpuShare);

/// <summary>Medians of each way over the rounds.</summary>
internal sealed class Summary(List<JobRun> runs)
{
    private IEnumerable<JobRun> MlNet => runs.Where(r => r.Side == "ML.NET");
    private IEnumerable<JobRun> Engine => runs.Where(r => r.Side == "engine");

    public double MlNetEpoch => Stats.Median(MlNet.SelectMany(r => r.EpochSeconds));
    public double EngineEpoch => Stats.Median(Engine.SelectMany(r => r.EpochSeconds));
    public double EpochRatio => MlNetEpoch / EngineEpoch;
    public double MlNetTotal => Stats.Median(MlNet.Select(r => r.TotalSeconds));
    public double EngineTotal => Stats.Median(Engine.Select(r => r.TotalSeconds));
    public double TotalRatio => MlNetTotal / EngineTotal;
    public double MlNetAccuracy => Stats.Median(MlNet.Select(r => r.MicroAccuracy));
    public double EngineAccuracy => Stats.Median(Engine.Select(r => r.MicroAccuracy));
}
