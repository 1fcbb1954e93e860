using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using MLNetNormalization.Normalization;
using MLNetNormalization.Trainers.Data;
using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.NN;
using MLNetNormalization.TorchBinding.Optim;

namespace MLNetNormalization.Trainers.Training;

/// <summary>
/// Trains an image classifier the way the papers did (SGD with momentum, step schedules, crop-and-flip
/// augmentation) with what .NET users expect around it: validation each epoch, early stopping, the best
/// model kept, checkpoints that survive a kill and resume to the same weights, progress and cancellation.
/// With the same seed and thread count, training on the CPU gives bit-identical weights.
/// </summary>
public sealed class ClassifierTrainer
{
    /// <summary>File names inside <see cref="TrainingOptions.WorkspacePath"/>.</summary>
    public const string CheckpointFileName = "checkpoint.mlnt", BestModelFileName = "best.mlnt";

    // Streams derived from the seed: the global generator (dropout) gets its own, apart from data order.
    private const ulong DropoutStream = 0xD80;

    public ClassifierTrainer(TrainingOptions options)
    {
        Options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
    }

    public TrainingOptions Options { get; }

    /// <summary>
    /// Trains <paramref name="model"/> (on the device its parameters are on) and returns what happened.
    /// <paramref name="progress"/> is called on this thread. Cancelling stops at the next step boundary,
    /// writes a checkpoint when there is a workspace, and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public TrainingResult Train(Module model, ILabeledImageSource train, ILabeledImageSource? validation = null,
                                Action<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        CheckData(model, train, validation);
        var options = Options;
        var assembler = new BatchAssembler(train, options.BatchSize, options.PixelMean, options.PixelStd,
            options.CropPadding, options.HorizontalFlip, options.Seed, options.PrefetchBatches);
        var stepsPerEpoch = assembler.TrainingBatches;
        if (stepsPerEpoch == 0)
            throw new ArgumentException($"The training data has {train.Count} example(s); a training step needs at least 2.", nameof(train));
        // Made before anything is loaded or seeded, since it may refuse the options (a milestone within the warm-up).
        var schedule = LearningRatePlan.Create(options, stepsPerEpoch);
        var device = model.Parameters().First().Device;

        using var optimizer = CreateOptimizer(model);
        var checkpointPath = options.WorkspacePath is null ? null : Path.Combine(options.WorkspacePath, CheckpointFileName);
        var bestPath = options.WorkspacePath is null ? null : Path.Combine(options.WorkspacePath, BestModelFileName);
        if (options.WorkspacePath is not null) Directory.CreateDirectory(options.WorkspacePath);

        var fingerprint = Fingerprint(model, train, validation);
        TrainingPosition position;
        string? resumedFrom = null;
        if (options.Resume && checkpointPath is not null && File.Exists(checkpointPath))
        {
            // Checked before anything is loaded: a refused checkpoint must leave the caller's model and the generator as they were.
            position = Checkpoint.Load(checkpointPath, model, optimizer, saved => CheckSameRun(saved.Fingerprint, fingerprint, checkpointPath));
            resumedFrom = position.ToString();
        }
        else
        {
            Torch.ManualSeed((ulong)BatchAssembler.MixSeed(options.Seed, DropoutStream, 0));
            position = new TrainingPosition { Fingerprint = fingerprint };
        }

        var scheduler = new LearningRateScheduler(optimizer, schedule, position.GlobalStep);
        var clock = Stopwatch.StartNew();
        var stepsThisProcess = 0;
        var totalSteps = options.Epochs * stepsPerEpoch;
        var bestState = validation is not null && bestPath is not null && position.BestEpoch is not null && File.Exists(bestPath)
            ? TorchBinding.Serialization.TensorFile.Load(bestPath)
            : null;

        try
        {
            while (position.Epoch < options.Epochs && !position.StoppedEarly)
            {
                model.Train();
                var epoch = position.Epoch;
                var (lossSum, correct, seen) = (position.EpochLossSum, position.EpochCorrect, position.EpochSeen);
                // The rate of the epoch's last step so far: an epoch resumed after its last step (cancelled while
                // being validated) takes no step, and the scheduler already holds the next epoch's rate.
                var learningRate = position.NextBatch > 0
                    ? optimizer.Groups[0].InitialLearningRate * schedule.Factor(position.GlobalStep - 1)
                    : optimizer.Groups[0].LearningRate;
                foreach (var batch in assembler.Training(epoch, position.NextBatch, cancellation))
                {
                    cancellation.ThrowIfCancellationRequested();
                    learningRate = optimizer.Groups[0].LearningRate;
                    var (loss, hits) = Step(model, optimizer, epoch, batch, train.Shape, device);
                    scheduler.Step();
                    lossSum += loss * batch.Count;
                    correct += hits;
                    seen += batch.Count;
                    stepsThisProcess++;
                    position = position with
                    {
                        NextBatch = batch.Index + 1, GlobalStep = position.GlobalStep + 1,
                        EpochLossSum = lossSum, EpochCorrect = correct, EpochSeen = seen,
                    };
                    var step = batch.Index + 1;
                    if (step % options.ProgressEverySteps == 0 || step == stepsPerEpoch)
                        progress?.Invoke(Report(TrainingPhase.Step, position, stepsPerEpoch, lossSum / seen, (double)correct / seen,
                            learningRate, clock, stepsThisProcess, totalSteps, null));
                    if (checkpointPath is not null && options.CheckpointEverySteps > 0 && step % options.CheckpointEverySteps == 0 && step < stepsPerEpoch)
                        Checkpoint.Save(checkpointPath, model, optimizer, position);
                }

                var validationMetrics = validation is null ? null : Evaluate(model, validation, cancellation);
                var summary = new EpochSummary(epoch + 1, lossSum / seen, (double)correct / seen, learningRate,
                    validationMetrics?.MicroAccuracy, validationMetrics?.LogLoss);
                position = position with
                {
                    Epoch = epoch + 1, NextBatch = 0, EpochLossSum = 0, EpochCorrect = 0, EpochSeen = 0,
                    History = [.. position.History, summary],
                };
                if (validationMetrics is not null)
                {
                    var metric = options.ValidationMetric == ValidationMetric.MicroAccuracy ? validationMetrics.MicroAccuracy : -validationMetrics.LogLoss;
                    var minDelta = options.EarlyStopping?.MinDelta ?? 0;
                    if (position.BestMetric is not { } best || metric > best + minDelta)
                    {
                        position = position with { BestEpoch = epoch + 1, BestMetric = metric, EpochsWithoutImprovement = 0 };
                        DisposeState(bestState);
                        bestState = CopyState(model);
                        if (bestPath is not null) model.Save(bestPath);
                    }
                    else
                    {
                        position = position with { EpochsWithoutImprovement = position.EpochsWithoutImprovement + 1 };
                    }
                    if (options.EarlyStopping is { } stopping && position.EpochsWithoutImprovement >= stopping.Patience)
                        position = position with { StoppedEarly = true };
                }
                if (checkpointPath is not null) Checkpoint.Save(checkpointPath, model, optimizer, position);
                progress?.Invoke(Report(TrainingPhase.EpochEnd, position, stepsPerEpoch, summary.TrainingLoss, summary.TrainingAccuracy,
                    learningRate, clock, stepsThisProcess, totalSteps, validationMetrics));
            }
            if (options.RestoreBestModel && bestState is not null) model.LoadState(bestState);
        }
        catch (OperationCanceledException) when (checkpointPath is not null)
        {
            Checkpoint.Save(checkpointPath, model, optimizer, position);
            throw;
        }
        finally
        {
            // Also when training throws (cancelled, diverged): the best-model copy is not left to the finalizer.
            DisposeState(bestState);
        }

        var finalValidation = validation is null ? null : Evaluate(model, validation, cancellation);
        return new TrainingResult(position.History, position.BestEpoch, finalValidation, position.StoppedEarly, resumedFrom);
    }

    /// <summary>
    /// The validation metrics (accuracy, log loss) of <paramref name="model"/> (in eval mode, batch by batch) on
    /// <paramref name="data"/>, standardized with these options' pixel statistics.
    /// </summary>
    public ValidationMetrics Evaluate(Module model, ILabeledImageSource data, CancellationToken cancellation = default)
    {
        var assembler = new BatchAssembler(data, Options.BatchSize, Options.PixelMean, Options.PixelStd, prefetch: Options.PrefetchBatches);
        return ModelEvaluation.Evaluate(model, assembler.InOrder(cancellation), data.Shape, data.ClassNames);
    }

    // One SGD step in its own dispose scope, so the step's tensors are freed when it ends.
    private (double Loss, long Correct) Step(Module model, SGD optimizer, int epoch, ImageBatch batch, ImageShape shape, Device device)
    {
        using var scope = Torch.NewDisposeScope();
        var images = Tensor.FromSpan<float>(batch.Images, [batch.Count, shape.Channels, shape.Height, shape.Width], device);
        var labels = Tensor.FromSpan<long>(batch.Labels, [batch.Count], device);
        optimizer.ZeroGrad();
        var logits = model.Forward(images);
        var loss = Functional.CrossEntropy(logits, labels, labelSmoothing: Options.LabelSmoothing);
        var lossValue = loss.Item<float>();
        if (!float.IsFinite(lossValue))
            throw new InvalidOperationException(
                $"The training loss became {lossValue} at batch {batch.Index + 1} of epoch {epoch + 1}: training diverged. Start afresh " +
                $"({nameof(TrainingOptions.Resume)} = false or a new {nameof(TrainingOptions.WorkspacePath)}) with a lower {nameof(TrainingOptions.LearningRate)} " +
                $"(the rate was {optimizer.Groups[0].LearningRate}) or some warm-up; the checkpoints written so far are intact but lead to the same divergence.");
        loss.Backward();
        optimizer.Step();
        return (lossValue, logits.ArgMax(1).Eq(labels).Sum().Item<long>());
    }

    // Weight decay by role (seed "four things" 3.3): conv/linear weights, gamma/beta, gates; empty groups are left out.
    private SGD CreateOptimizer(Module model)
    {
        var roles = NormalizationModel.SplitParameters(model);
        var groups = new[] { (roles.Weights, Options.WeightDecay), (roles.NormalizationAffine, Options.NormWeightDecay), (roles.Gating, Options.GateWeightDecay) }
            .Where(g => g.Item1.Count > 0)
            .Select(g => new ParameterGroup(g.Item1, Options.LearningRate, Options.Momentum, weightDecay: g.Item2, nesterov: Options.Nesterov));
        return new SGD(groups);
    }

    private static void CheckData(Module model, ILabeledImageSource train, ILabeledImageSource? validation)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        if (!model.Parameters().Any()) throw new ArgumentException("The model has no parameters to train.", nameof(model));
        if (validation is null) return;
        if (validation.Shape != train.Shape)
            throw new ArgumentException($"The validation images are {validation.Shape} but the training images are {train.Shape}; resize them to the same shape.", nameof(validation));
        if (!validation.ClassNames.SequenceEqual(train.ClassNames))
            throw new ArgumentException("The validation data's classes differ from the training data's; map both with the same label map.", nameof(validation));
    }

    private TrainingProgress Report(TrainingPhase phase, TrainingPosition position, int stepsPerEpoch, double loss, double accuracy,
                                    double learningRate, Stopwatch clock, int stepsThisProcess, int totalSteps, ValidationMetrics? validation)
    {
        var elapsed = clock.Elapsed;
        var secondsPerStep = stepsThisProcess == 0 ? 0 : elapsed.TotalSeconds / stepsThisProcess;
        var remaining = TimeSpan.FromSeconds(secondsPerStep * Math.Max(0, totalSteps - position.GlobalStep));
        var epoch = phase == TrainingPhase.EpochEnd ? position.Epoch : position.Epoch + 1;
        var step = phase == TrainingPhase.EpochEnd ? stepsPerEpoch : position.NextBatch;
        return new TrainingProgress(phase, epoch, Options.Epochs, step, stepsPerEpoch, loss, accuracy, learningRate,
            secondsPerStep == 0 ? 0 : Options.BatchSize / secondsPerStep, elapsed, remaining, validation);
    }

    // What must not change between a run and its resumption: the options that shape training, and the data and model shapes.
    private JsonObject Fingerprint(Module model, ILabeledImageSource train, ILabeledImageSource? validation)
    {
        var options = (JsonObject)JsonSerializer.SerializeToNode(Options)!;
        foreach (var free in new[] { nameof(TrainingOptions.WorkspacePath), nameof(TrainingOptions.Resume), nameof(TrainingOptions.ProgressEverySteps),
                                     nameof(TrainingOptions.PrefetchBatches), nameof(TrainingOptions.CheckpointEverySteps) })
            options.Remove(free);
        options["TrainingExamples"] = train.Count;
        options["ValidationExamples"] = validation?.Count;
        options["ImageShape"] = train.Shape.ToString();
        options["Classes"] = string.Join("|", train.ClassNames);
        options["Model"] = string.Join(";", model.State().Select(s => $"{s.Name}[{string.Join(",", s.Value.Shape)}]"));
        return options;
    }

    private static void CheckSameRun(JsonObject saved, JsonObject current, string path)
    {
        var differences = current.Select(p => p.Key).Union(saved.Select(p => p.Key))
            .Where(key => !JsonNode.DeepEquals(saved[key], current[key]))
            .Select(key => key == "Model" ? "the model's parameters" : $"{key} (checkpoint: {saved[key]?.ToJsonString() ?? "none"}, now: {current[key]?.ToJsonString() ?? "none"})")
            .ToList();
        if (differences.Count > 0)
            throw new InvalidOperationException(
                $"The checkpoint {path} belongs to a different run: {string.Join("; ", differences)}. " +
                $"Use the same options and data to resume, or another {nameof(TrainingOptions.WorkspacePath)} (or {nameof(TrainingOptions.Resume)} = false) to start afresh.");
    }

    private static Dictionary<string, Tensor> CopyState(Module model)
    {
        // The scope frees the intermediate Detach() results; the clones leave it.
        using var scope = Torch.NewDisposeScope();
        using var noGrad = Torch.NoGrad();
        return model.State().ToDictionary(s => s.Name, s => s.Value.Detach().Clone().DetachFromDisposeScope());
    }

    private static void DisposeState(Dictionary<string, Tensor>? state)
    {
        if (state is null) return;
        foreach (var tensor in state.Values) tensor.Dispose();
    }
}
