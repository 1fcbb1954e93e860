using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.ExceptionServices;
using MLNetNormalization.Normalization;
using MLNetNormalization.Trainers.Backbones;
using MLNetNormalization.Trainers.Training;
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

/// <summary>What one run measured, and the seconds it took (training, then every evaluation).</summary>
internal sealed record RunMeasurement(RunSpec Spec, double TestError, double TrainSeconds, double EvaluationSeconds,
                                      IReadOnlyList<AlphaMeasurement>? Alphas, GateDistribution? Gates);

/// <summary>
/// Trains LeNet runs with the training engine (<see cref="ClassifierTrainer"/>), several at once, and measures them.
/// Each run is single-threaded and runs on its own worker, so its numbers do not depend on how many workers there are.
/// </summary>
internal sealed class EvidenceRunner(EvidenceData data, EvidencePlan plan, int workers)
{
    /// <summary>Runs every request (the same spec asked twice is trained once, measuring what either asked); returns the measurements by spec.</summary>
    public IReadOnlyDictionary<RunSpec, RunMeasurement> Run(IReadOnlyList<RunRequest> requests, Action<string> log, CancellationToken cancellation)
    {
        var merged = requests.GroupBy(r => r.Spec)
            .Select(g => new RunRequest(g.Key, g.Any(r => r.SweepAlpha), g.Any(r => r.MeasureGates)))
            // Small batches first: they take longest, and starting them early keeps the workers busy to the end.
            .OrderBy(r => r.Spec.BatchSize).ThenBy(r => r.Spec.Task).ThenBy(r => r.Spec.Normalizer, StringComparer.Ordinal).ThenBy(r => r.Spec.Seed)
            .ToList();
        // libtorch's intra-op pool is per process: one thread per op, the workers give the parallelism.
        torch.set_num_threads(1);
        // Every model is built (and so initialized) here, one after another from its own seed, before any training starts:
        // the engine reseeds torch's global generator when a run starts, which would otherwise race with another
        // worker's initialization.
        var models = new Dictionary<RunSpec, nn.Module<Tensor, Tensor>>();
        var results = new ConcurrentDictionary<RunSpec, RunMeasurement>();
        try
        {
            foreach (var request in merged)
            {
                var spec = request.Spec;
                var task = data.Of(spec.Task);
                torch.manual_seed(spec.Seed);
                models[spec] = Backbone.Create(Architecture.LeNet, task.Train.Shape, task.Train.ClassNames.Count, new NormalizerPlan(spec.Normalizer));
            }
            var clock = Stopwatch.StartNew();
            var finished = 0;
            // One request at a time, in the order above (the default partitioning would hand out chunks).
            var inOrder = Partitioner.Create(merged, EnumerablePartitionerOptions.NoBuffering);
            try
            {
                Parallel.ForEach(inOrder, new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancellation }, request => Measure(request));
            }
            catch (AggregateException failed)
            {
                // The first failure as itself (a cancellation stays a cancellation), not wrapped by Parallel.
                ExceptionDispatchInfo.Capture(failed.InnerExceptions[0]).Throw();
            }
            return results;

            void Measure(RunRequest request)
            {
                RunMeasurement measurement;
                try
                {
                    measurement = RunOne(request, models[request.Spec], cancellation);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    throw new InvalidOperationException($"Run '{request.Spec}' failed: {e.Message}", e);
                }
                models[request.Spec].Dispose();
                results[request.Spec] = measurement;
                // One line at a time: the caller's writer need not be thread-safe.
                lock (results)
                    log(string.Create(CultureInfo.InvariantCulture,
                        $"[{++finished}/{merged.Count}, {clock.Elapsed.TotalMinutes:F1} min] {request.Spec}: test error {100 * measurement.TestError:F2}% ({measurement.TrainSeconds:F0} s training)"));
            }
        }
        finally
        {
            // A finished run disposed its own model as soon as it was measured.
            foreach (var (spec, model) in models)
                if (!results.ContainsKey(spec)) model.Dispose();
        }
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
        double ErrorOn(Trainers.Data.ImageDataset images) => 1 - evaluator.Evaluate(model, images, cancellation).MicroAccuracy;
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
        return new RunMeasurement(spec, testError, trainSeconds, clock.Elapsed.TotalSeconds, alphas, gates);
    }
}
