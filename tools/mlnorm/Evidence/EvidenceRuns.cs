using System.Diagnostics;
using System.Globalization;
using MLNetNormalization.Data;
using MLNetNormalization.Normalization;
using MLNetNormalization.Backbones;
using MLNetNormalization.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetNormalization.Tools.Mlnorm.Evidence;

/// <summary>One training run: a task, a normalizer string, a batch size, a seed, and whether gamma/beta get weight decay.</summary>
internal sealed record RunSpec(EvidenceTask Task, string Normalizer, int BatchSize, int Seed, bool DecayNormAffine = false)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{(Task == EvidenceTask.Fashion ? "fashion" : "multi-domain")} {Normalizer} batch {BatchSize}{(DecayNormAffine ? " decay on gamma/beta" : "")} seed {Seed}");
}

/// <summary>A run and what to measure on its trained model besides the test error.</summary>
internal sealed record RunRequest(RunSpec Spec, bool SweepAlpha = false, bool MeasureGates = false);

/// <summary>Validation and test error of a trained model at one inference alpha.</summary>
internal sealed record AlphaMeasurement(double Alpha, double ValidationError, double TestError);

/// <summary>
/// How one trained MN model's gates spread each domain's test images over its modes, per MN layer:
/// <c>MeanGate[layer][domain][mode]</c> is the mean of g[n, mode] over the domain's images,
/// <c>ArgmaxShare[layer][domain][mode]</c> the share of them whose largest gate is that mode.
/// </summary>
internal sealed record GateDistribution(IReadOnlyList<string> Layers, IReadOnlyList<string> Domains, int Modes,
                                        double[][][] MeanGate, double[][][] ArgmaxShare);

/// <summary>What one run measured, the seconds it took (training, then every evaluation), and the CPU seconds its worker process spent on it.</summary>
internal sealed record RunMeasurement(RunSpec Spec, double TestError, double TrainSeconds, double EvaluationSeconds, double CpuSeconds,
                                      IReadOnlyList<AlphaMeasurement>? Alphas, GateDistribution? Gates);

/// <summary>
/// Trains and measures one run with the training engine (<see cref="ClassifierTrainer"/>): LeNet with the run's normalizer,
/// initialized from the run's seed. What an evidence worker process does for each run it is handed.
/// </summary>
internal sealed class EvidenceRunner(EvidenceData data, EvidencePlan plan)
{
    /// <summary>Builds the run's model from its seed, trains it, and measures it.</summary>
    public RunMeasurement Measure(RunRequest request, CancellationToken cancellation)
    {
        var spec = request.Spec;
        var task = data.Of(spec.Task);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        torch.manual_seed(spec.Seed);
        using var model = Backbone.Create(Architecture.LeNet, task.Train.Shape, task.Train.ClassNames.Count, new NormalizerPlan(spec.Normalizer));
        var measurement = RunOne(request, model, cancellation);
        return measurement with { CpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds };
    }

    private RunMeasurement RunOne(RunRequest request, nn.Module<Tensor, Tensor> model, CancellationToken cancellation)
    {
        var spec = request.Spec;
        var task = data.Of(spec.Task);
        var options = new TrainingOptions
        {
            Epochs = plan.Epochs(spec.Task),
            BatchSize = spec.BatchSize,
            LearningRate = plan.LearningRate(spec.BatchSize),
            Momentum = EvidencePlan.Momentum,
            WeightDecay = EvidencePlan.WeightDecay,
            NormWeightDecay = spec.DecayNormAffine ? EvidencePlan.WeightDecay : 0,
            Schedule = LearningRateScheduleKind.Cosine,
            CropPadding = 0,
            HorizontalFlip = false,
            PixelMean = [task.PixelMean],
            PixelStd = [task.PixelStd],
            Seed = (ulong)spec.Seed,
            ProgressEverySteps = int.MaxValue,
        };
        var clock = Stopwatch.StartNew();
        new ClassifierTrainer(options).Train(model, task.Train, validation: null, progress: null, cancellation);
        var trainSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();

        var evaluator = new ClassifierTrainer(options with { BatchSize = EvidencePlan.EvaluationBatchSize });
        double ErrorOn(ImageDataset images) => 1 - evaluator.Evaluate(model, images, cancellation).MicroAccuracy;
        var testError = ErrorOn(task.Test);
        List<AlphaMeasurement>? alphas = null;
        if (request.SweepAlpha)
        {
            var validation = task.Validation ?? throw new InvalidOperationException($"{spec}: tuning alpha needs held-out validation images, which only the Fashion-MNIST task has.");
            alphas = [];
            foreach (var alpha in EvidencePlan.Alphas)
            {
                NormalizationModel.SetInferenceAlpha(model, alpha);
                alphas.Add(new AlphaMeasurement(alpha, ErrorOn(validation), ErrorOn(task.Test)));
            }
            NormalizationModel.ResetInferenceAlpha(model);
        }
        var gates = request.MeasureGates ? GateMeasurement.Measure(model, data.MultiDomainTest, task.PixelMean, task.PixelStd) : null;
        return new RunMeasurement(spec, testError, trainSeconds, clock.Elapsed.TotalSeconds, CpuSeconds: 0, alphas, gates);
    }
}
