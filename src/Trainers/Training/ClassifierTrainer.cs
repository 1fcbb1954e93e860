using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using MLNetNormalization.Normalization;
using MLNetNormalization.Data;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetNormalization.Training;

/// <summary>
/// Trains an image classifier the way the papers did (SGD with momentum, step schedules, crop-and-flip
/// augmentation) with what .NET users expect around it: validation each epoch, early stopping, the best
/// model kept, checkpoints that survive a kill and resume to the same weights, progress and cancellation.
/// With the same seed and thread count, training on the CPU gives bit-identical weights. Built on TorchSharp:
/// <c>torch.optim.SGD</c> with one parameter group per role (see <see cref="NormalizationModel.SplitParameters"/>),
/// <c>torch.optim.lr_scheduler.LambdaLR</c> following <see cref="LearningRatePlan"/>, one dispose scope per step.
/// </summary>
public sealed class ClassifierTrainer
{
    /// <summary>File names inside <see cref="TrainingOptions.WorkspacePath"/>.</summary>
    public const string CheckpointFileName = "checkpoint.mlnt", BestModelFileName = "best.mlnt";

    // Streams derived from the seed: the global generator (dropout) gets its own, apart from data order.
    private const ulong DropoutStream = 0xD80;

    /// <exception cref="ArgumentException">An invalid option (see <see cref="TrainingOptions.Validate"/>).</exception>
    public ClassifierTrainer(TrainingOptions options) : this(options, nameof(TrainingOptions))
    {
    }

    /// <param name="options">Checked here, once.</param>
    /// <param name="owner">The options class the user set them on, which the messages name.</param>
    internal ClassifierTrainer(TrainingOptions options, string owner)
    {
        Options = (options ?? throw new ArgumentNullException(nameof(options))).Validate(owner);
    }

    public TrainingOptions Options { get; }

    /// <summary>
    /// Trains <paramref name="model"/> (on the device its parameters are on: move it with <c>model.to(device)</c>
    /// first) and returns what happened. The model maps [N, C, H, W] float32 images (the data's shape) to
    /// [N, classes] logits; any TorchSharp module does, the backbones of <see cref="Backbones.Backbone"/> or a
    /// user's own. <paramref name="progress"/> is called on this thread. Cancelling stops at the next step
    /// boundary, writes a checkpoint when there is a workspace, and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    /// <exception cref="ArgumentException">When the data do not fit (shapes, classes, too few examples) or the model has no parameters.</exception>
    /// <exception cref="InvalidOperationException">
    /// When the model is on a CUDA device TorchSharp cannot use, the workspace's checkpoint belongs to another run, or training diverges.
    /// </exception>
    public TrainingResult Train(nn.Module<Tensor, Tensor> model, ILabeledImageSource train, ILabeledImageSource? validation = null,
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
        var device = model.parameters().First().device;
        TrainingDevice.EnsureAvailable(device);

        using var optimizer = CreateOptimizer(model);
        var checkpointPath = options.WorkspacePath is null ? null : Path.Combine(options.WorkspacePath, CheckpointFileName);
        var bestPath = options.WorkspacePath is null ? null : Path.Combine(options.WorkspacePath, BestModelFileName);
        if (options.WorkspacePath is not null) Directory.CreateDirectory(options.WorkspacePath);

        var (position, resumedFrom) = ResumeOrStart(model, optimizer, Fingerprint(model, train, validation), checkpointPath);

        // LambdaLR sets every group's rate to its initial rate · Factor(step); constructed at last_epoch = GlobalStep - 1,
        // it applies the factor of the next step, GlobalStep, at once, so a resumed run continues the schedule.
        foreach (var group in optimizer.ParamGroups) group.InitialLearningRate = options.LearningRate;
        var run = new Run
        {
            Model = model, Shape = train.Shape, Classes = train.ClassNames.Count, Validation = validation, Assembler = assembler, Schedule = schedule, Device = device,
            Optimizer = optimizer, Scheduler = optim.lr_scheduler.LambdaLR(optimizer, schedule.Factor, last_epoch: position.GlobalStep - 1),
            CheckpointPath = checkpointPath, BestPath = bestPath, Progress = progress, Cancellation = cancellation,
            Clock = Stopwatch.StartNew(), StepsPerEpoch = stepsPerEpoch, TotalSteps = options.Epochs * stepsPerEpoch, Position = position,
            BestState = validation is not null && bestPath is not null && position.BestEpoch is not null && File.Exists(bestPath)
                ? ModelFile.Load(bestPath, model)
                : null,
        };

        ValidationMetrics? finalValidation;
        var layout = options.ChannelsLast ? MemoryFormat.UseConvolutionLayout(model, channelsLast: true) : null;
        try
        {
            var lastEpoch = Math.Min(options.Epochs, options.PauseAtEpoch ?? options.Epochs);
            while (run.Position.Epoch < lastEpoch && !run.Position.StoppedEarly)
            {
                var learningRate = TrainEpochSteps(run);
                EndEpoch(run, learningRate);
            }
            if (options.RestoreBestModel && run.BestState is not null) Checkpoint.CopyState(run.BestState, model);
            // In the layout the epochs were validated in, so that the best epoch's metrics come out again bit for bit.
            finalValidation = validation is null ? null : Evaluate(model, validation, cancellation);
        }
        catch (OperationCanceledException) when (checkpointPath is not null)
        {
            Checkpoint.Save(checkpointPath, model, optimizer, run.Position);
            throw;
        }
        finally
        {
            // Also when training throws (cancelled, diverged): the best-model copy is not left to the finalizer,
            // and the caller gets the weights back in the layout they had.
            Checkpoint.DisposeState(run.BestState);
            layout?.Dispose();
        }

        return new TrainingResult(run.Position.History, run.Position.BestEpoch, finalValidation, run.Position.StoppedEarly, resumedFrom);
    }

    /// <summary>
    /// Where training starts: the workspace's checkpoint restored into model, optimizer and generator when resuming
    /// (with where it resumed from, for the result), or the generator seeded and a fresh position.
    /// </summary>
    private (TrainingPosition Position, string? ResumedFrom) ResumeOrStart(nn.Module model, SGD optimizer, JsonObject fingerprint, string? checkpointPath)
    {
        if (Options.Resume && checkpointPath is not null && File.Exists(checkpointPath))
        {
            // Checked before anything is loaded: a refused checkpoint must leave the caller's model and the generator as they were.
            var position = Checkpoint.Load(checkpointPath, model, optimizer, saved => CheckSameRun(saved.Fingerprint, fingerprint, checkpointPath));
            return (position, position.ToString());
        }
        torch.manual_seed(BatchAssembler.MixSeed(Options.Seed, DropoutStream, 0));
        return (new TrainingPosition { Fingerprint = fingerprint }, null);
    }

    /// <summary>
    /// The steps of the epoch in progress, from its next batch on, with their progress reports and mid-epoch checkpoints;
    /// returns the learning rate of its last step.
    /// </summary>
    private double TrainEpochSteps(Run run)
    {
        run.Model.train();
        var epoch = run.Position.Epoch;
        var (lossSum, correct, seen) = (run.Position.EpochLossSum, run.Position.EpochCorrect, run.Position.EpochSeen);
        // The rate of the epoch's last step so far: an epoch resumed after its last step (cancelled while
        // being validated) takes no step, and the scheduler already holds the next epoch's rate.
        var learningRate = run.Position.NextBatch > 0
            ? Options.LearningRate * run.Schedule.Factor(run.Position.GlobalStep - 1)
            : run.Optimizer.ParamGroups.First().LearningRate;
        foreach (var batch in run.Assembler.Training(epoch, run.Position.NextBatch, run.Cancellation))
        {
            run.Cancellation.ThrowIfCancellationRequested();
            learningRate = run.Optimizer.ParamGroups.First().LearningRate;
            var (loss, hits) = Step(run.Model, run.Optimizer, epoch, batch, run.Shape, run.Classes, run.Device);
            run.Scheduler.step();
            lossSum += loss * batch.Count;
            correct += hits;
            seen += batch.Count;
            run.StepsThisProcess++;
            run.Position = run.Position with
            {
                NextBatch = batch.Index + 1, GlobalStep = run.Position.GlobalStep + 1,
                EpochLossSum = lossSum, EpochCorrect = correct, EpochSeen = seen,
            };
            var step = batch.Index + 1;
            if (step % Options.ProgressEverySteps == 0 || step == run.StepsPerEpoch)
                run.Progress?.Invoke(Report(TrainingPhase.Step, run, lossSum / seen, (double)correct / seen, learningRate, null));
            if (run.CheckpointPath is not null && Options.CheckpointEverySteps > 0 && step % Options.CheckpointEverySteps == 0 && step < run.StepsPerEpoch)
                Checkpoint.Save(run.CheckpointPath, run.Model, run.Optimizer, run.Position);
        }
        return learningRate;
    }

    /// <summary>
    /// The end of the epoch whose steps are done: validation, the epoch in the history, the best model and early stopping,
    /// then the checkpoint and the epoch's progress report. <paramref name="learningRate"/>: the rate of its last step.
    /// </summary>
    private void EndEpoch(Run run, double learningRate)
    {
        var epoch = run.Position.Epoch;
        // Validated before the position moves on: cancelled here, the checkpoint resumes this epoch after its last step.
        var validationMetrics = run.Validation is null ? null : Evaluate(run.Model, run.Validation, run.Cancellation);
        var summary = new EpochSummary(epoch + 1, run.Position.EpochLossSum / run.Position.EpochSeen, (double)run.Position.EpochCorrect / run.Position.EpochSeen,
            learningRate, validationMetrics?.MicroAccuracy, validationMetrics?.LogLoss);
        run.Position = run.Position with
        {
            Epoch = epoch + 1, NextBatch = 0, EpochLossSum = 0, EpochCorrect = 0, EpochSeen = 0,
            History = [.. run.Position.History, summary],
        };
        if (validationMetrics is not null) KeepBestAndStopEarly(run, validationMetrics);
        if (run.CheckpointPath is not null) Checkpoint.Save(run.CheckpointPath, run.Model, run.Optimizer, run.Position);
        run.Progress?.Invoke(Report(TrainingPhase.EpochEnd, run, summary.TrainingLoss, summary.TrainingAccuracy, learningRate, validationMetrics));
    }

    /// <summary>
    /// After the epoch that just ended (the position already counts it) was validated: keeps its weights when they improve on the
    /// best (in memory, and in the workspace's best model file), and stops early after the options' patience without improvement.
    /// </summary>
    private void KeepBestAndStopEarly(Run run, ValidationMetrics validationMetrics)
    {
        var metric = Options.ValidationMetric == ValidationMetric.MicroAccuracy ? validationMetrics.MicroAccuracy : -validationMetrics.LogLoss;
        var minDelta = Options.EarlyStopping?.MinDelta ?? 0;
        if (run.Position.BestMetric is not { } best || metric > best + minDelta)
        {
            run.Position = run.Position with { BestEpoch = run.Position.Epoch, BestMetric = metric, EpochsWithoutImprovement = 0 };
            Checkpoint.DisposeState(run.BestState);
            run.BestState = Checkpoint.CloneState(run.Model);
            if (run.BestPath is not null) ModelFile.Save(run.BestPath, run.Model);
        }
        else
        {
            run.Position = run.Position with { EpochsWithoutImprovement = run.Position.EpochsWithoutImprovement + 1 };
        }
        if (Options.EarlyStopping is { } stopping && run.Position.EpochsWithoutImprovement >= stopping.Patience)
            run.Position = run.Position with { StoppedEarly = true };
    }

    /// <summary>
    /// One call of <see cref="Train"/>: what it trains with, and what changes as it goes. The methods that move the run on
    /// store each new <see cref="Position"/> here at once, so that a cancellation, wherever it comes, checkpoints where the run stood.
    /// </summary>
    private sealed class Run
    {
        public required nn.Module<Tensor, Tensor> Model { get; init; }
        public required ImageShape Shape { get; init; }
        public required int Classes { get; init; }
        public required ILabeledImageSource? Validation { get; init; }
        public required BatchAssembler Assembler { get; init; }
        public required LearningRateSchedule Schedule { get; init; }
        public required Device Device { get; init; }
        public required SGD Optimizer { get; init; }
        public required optim.lr_scheduler.LRScheduler Scheduler { get; init; }
        public required string? CheckpointPath { get; init; }
        public required string? BestPath { get; init; }
        public required Action<TrainingProgress>? Progress { get; init; }
        public required CancellationToken Cancellation { get; init; }
        public required Stopwatch Clock { get; init; }
        public required int StepsPerEpoch { get; init; }
        public required int TotalSteps { get; init; }
        public required TrainingPosition Position { get; set; }
        /// <summary>The best epoch's weights so far (on the model's device), for <see cref="TrainingOptions.RestoreBestModel"/>.</summary>
        public required Dictionary<string, Tensor>? BestState { get; set; }
        public int StepsThisProcess { get; set; }
    }

    /// <summary>
    /// The validation metrics (accuracy, log loss) of <paramref name="model"/> (in eval mode, batch by batch) on
    /// <paramref name="data"/>, standardized with these options' pixel statistics.
    /// </summary>
    public ValidationMetrics Evaluate(nn.Module<Tensor, Tensor> model, ILabeledImageSource data, CancellationToken cancellation = default)
    {
        var assembler = new BatchAssembler(data, Options.BatchSize, Options.PixelMean, Options.PixelStd, prefetch: Options.PrefetchBatches);
        // The weights in the layout training used (and validated in), put back as they were afterwards.
        using var layout = Options.ChannelsLast ? MemoryFormat.UseConvolutionLayout(model, channelsLast: true) : null;
        return ModelEvaluation.Evaluate(model, assembler.InOrder(cancellation), data.Shape, data.ClassNames, Options.ChannelsLast);
    }

    /// <summary>
    /// A batch's images as a [N, C, H, W] float32 tensor on <paramref name="device"/>, channels-last when asked
    /// (the caller's dispose scope owns it).
    /// </summary>
    internal static Tensor ImagesTensor(ImageBatch batch, ImageShape shape, Device device, bool channelsLast)
    {
        var images = tensor(batch.Images, [batch.Count, shape.Channels, shape.Height, shape.Width], float32, device);
        return channelsLast ? MemoryFormat.ToChannelsLast(images) : images;
    }

    // One SGD step in its own dispose scope, so the step's tensors are freed when it ends.
    private (double Loss, long Correct) Step(nn.Module<Tensor, Tensor> model, SGD optimizer, int epoch, ImageBatch batch, ImageShape shape, int classes, Device device)
    {
        using var scope = NewDisposeScope();
        var images = ImagesTensor(batch, shape, device, Options.ChannelsLast);
        var labels = tensor(batch.Labels, [batch.Count], int64, device);
        optimizer.zero_grad();
        var logits = model.call(images);
        // A backbone of the user's own may give anything: cross_entropy would take [N, K > classes] silently.
        if (logits.shape is not [var rows, var columns] || rows != batch.Count || columns != classes)
            throw new InvalidOperationException(
                $"The model's output for a batch of {batch.Count} images of {shape} is [{string.Join(", ", logits.shape)}]; a classifier gives [N, classes] logits, " +
                $"here [{batch.Count}, {classes}]: end the network with a linear layer to {classes} outputs (a backbone factory is given the class count).");
        var loss = nn.functional.cross_entropy(logits, labels, label_smoothing: Options.LabelSmoothing);
        var lossValue = loss.item<float>();
        if (!float.IsFinite(lossValue))
            throw new InvalidOperationException(
                $"The training loss became {lossValue} at batch {batch.Index + 1} of epoch {epoch + 1}: training diverged. Start afresh " +
                $"(a new {nameof(TrainingOptions.WorkspacePath)}, or delete its {CheckpointFileName}) with a lower {nameof(TrainingOptions.LearningRate)} " +
                $"(the rate was {optimizer.ParamGroups.First().LearningRate}) or some warm-up; the checkpoints written so far are intact but lead to the same divergence.");
        loss.backward();
        optimizer.step();
        return (lossValue, logits.argmax(1).eq(labels).sum().item<long>());
    }

    // Weight decay by role ("Four Things Everyone Should Know to Improve Batch Normalization", arXiv:1906.03548, section 3.3): conv/linear weights, gamma/beta, gates; empty groups are left out.
    private SGD CreateOptimizer(nn.Module model)
    {
        var roles = NormalizationModel.SplitParameters(model);
        var groups = new[] { (roles.Weights, Options.WeightDecay), (roles.NormalizationAffine, Options.NormWeightDecay), (roles.Gating, Options.GateWeightDecay) }
            .Where(g => g.Item1.Count > 0)
            .Select(g => new SGD.ParamGroup(g.Item1, lr: Options.LearningRate, momentum: Options.Momentum, weight_decay: g.Item2, nesterov: Options.Nesterov))
            .ToList();
        return optim.SGD(groups, Options.LearningRate, Options.Momentum, nesterov: Options.Nesterov);
    }

    private static void CheckData(nn.Module model, ILabeledImageSource train, ILabeledImageSource? validation)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        if (!model.parameters().Any()) throw new ArgumentException("The model has no parameters to train.", nameof(model));
        if (validation is null) return;
        if (validation.Shape != train.Shape)
            throw new ArgumentException($"The validation images are {validation.Shape} but the training images are {train.Shape}; resize them to the same shape.", nameof(validation));
        if (!validation.ClassNames.SequenceEqual(train.ClassNames))
            throw new ArgumentException("The validation data's classes differ from the training data's; map both with the same label map.", nameof(validation));
    }

    // Where the run stands, with its speed and time left from the steps this process has taken.
    private TrainingProgress Report(TrainingPhase phase, Run run, double loss, double accuracy, double learningRate, ValidationMetrics? validation)
    {
        var position = run.Position;
        var elapsed = run.Clock.Elapsed;
        var secondsPerStep = run.StepsThisProcess == 0 ? 0 : elapsed.TotalSeconds / run.StepsThisProcess;
        var remaining = TimeSpan.FromSeconds(secondsPerStep * Math.Max(0, run.TotalSteps - position.GlobalStep));
        var epoch = phase == TrainingPhase.EpochEnd ? position.Epoch : position.Epoch + 1;
        var step = phase == TrainingPhase.EpochEnd ? run.StepsPerEpoch : position.NextBatch;
        return new TrainingProgress(phase, epoch, Options.Epochs, step, run.StepsPerEpoch, loss, accuracy, learningRate,
            secondsPerStep == 0 ? 0 : Options.BatchSize / secondsPerStep, elapsed, remaining, validation);
    }

    // What must not change between a run and its resumption: the options that shape training, and the data and model shapes.
    private JsonObject Fingerprint(nn.Module model, ILabeledImageSource train, ILabeledImageSource? validation)
    {
        var options = (JsonObject)JsonSerializer.SerializeToNode(Options)!;
        foreach (var free in new[] { nameof(TrainingOptions.WorkspacePath), nameof(TrainingOptions.Resume), nameof(TrainingOptions.ProgressEverySteps),
                                     nameof(TrainingOptions.PrefetchBatches), nameof(TrainingOptions.CheckpointEverySteps) })
            options.Remove(free);
        options["TrainingExamples"] = train.Count;
        options["ValidationExamples"] = validation?.Count;
        options["ImageShape"] = train.Shape.ToString();
        options["Classes"] = string.Join("|", train.ClassNames);
        // The network: its modules with their types (a normalization layer with its settings, which its parameters'
        // shapes do not show: GN with 2 or 4 groups), and its parameters and buffers with their shapes.
        options[ModulesKey] = new JsonArray([.. model.named_modules().Select(m => JsonValue.Create($"{m.name}: {Describe(m.module)}"))]);
        options[ParametersKey] = new JsonArray([.. model.state_dict().Select(s => JsonValue.Create($"{s.Key} [{string.Join(", ", s.Value.shape)}]"))]);
        return options;
    }

    private const string ModulesKey = "Modules", ParametersKey = "Parameters";

    private static string Describe(nn.Module module) => module is NormalizationLayer layer ? layer.ToString() : module.GetType().Name;

    private static void CheckSameRun(JsonObject saved, JsonObject current, string path)
    {
        var differences = current.Select(p => p.Key).Union(saved.Select(p => p.Key))
            .Where(key => !JsonNode.DeepEquals(saved[key], current[key]))
            .Select(key => key is ModulesKey or ParametersKey
                ? $"the model's {key.ToLowerInvariant()} ({FirstDifference(saved[key] as JsonArray, current[key] as JsonArray)})"
                : $"{key} (checkpoint: {saved[key]?.ToJsonString() ?? "none"}, now: {current[key]?.ToJsonString() ?? "none"})")
            .ToList();
        if (differences.Count > 0)
            throw new InvalidOperationException(
                $"The checkpoint {path} belongs to a different run: {string.Join("; ", differences)}. " +
                $"Use the same options and data to resume; to start afresh, give another {nameof(TrainingOptions.WorkspacePath)} or delete {path}.");
    }

    // "checkpoint: a, now: b" for the first entry where two lists differ.
    private static string FirstDifference(JsonArray? saved, JsonArray? current)
    {
        var before = saved?.Select(e => (string?)e).ToList() ?? [];
        var now = current?.Select(e => (string?)e).ToList() ?? [];
        var index = Enumerable.Range(0, Math.Min(before.Count, now.Count)).FirstOrDefault(i => before[i] != now[i], -1);
        if (index >= 0) return $"checkpoint: {before[index]}, now: {now[index]}";
        return before.Count > now.Count ? $"the checkpoint's also has {before[now.Count]}" : $"now also {now[before.Count]}";
    }
}
