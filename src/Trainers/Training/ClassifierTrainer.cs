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

    public ClassifierTrainer(TrainingOptions options)
    {
        Options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
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
            torch.manual_seed(BatchAssembler.MixSeed(options.Seed, DropoutStream, 0));
            position = new TrainingPosition { Fingerprint = fingerprint };
        }

        // LambdaLR sets every group's rate to its initial rate · Factor(step); constructed at last_epoch = GlobalStep - 1,
        // it applies the factor of the next step, GlobalStep, at once, so a resumed run continues the schedule.
        foreach (var group in optimizer.ParamGroups) group.InitialLearningRate = options.LearningRate;
        var scheduler = optim.lr_scheduler.LambdaLR(optimizer, schedule.Factor, last_epoch: position.GlobalStep - 1);
        var clock = Stopwatch.StartNew();
        var stepsThisProcess = 0;
        var totalSteps = options.Epochs * stepsPerEpoch;
        var bestState = validation is not null && bestPath is not null && position.BestEpoch is not null && File.Exists(bestPath)
            ? LoadModelFile(bestPath, model)
            : null;

        ValidationMetrics? finalValidation;
        var layout = options.ChannelsLast ? MemoryFormat.UseConvolutionLayout(model, channelsLast: true) : null;
        try
        {
            var lastEpoch = Math.Min(options.Epochs, options.PauseAtEpoch ?? options.Epochs);
            while (position.Epoch < lastEpoch && !position.StoppedEarly)
            {
                model.train();
                var epoch = position.Epoch;
                var (lossSum, correct, seen) = (position.EpochLossSum, position.EpochCorrect, position.EpochSeen);
                // The rate of the epoch's last step so far: an epoch resumed after its last step (cancelled while
                // being validated) takes no step, and the scheduler already holds the next epoch's rate.
                var learningRate = position.NextBatch > 0
                    ? options.LearningRate * schedule.Factor(position.GlobalStep - 1)
                    : optimizer.ParamGroups.First().LearningRate;
                foreach (var batch in assembler.Training(epoch, position.NextBatch, cancellation))
                {
                    cancellation.ThrowIfCancellationRequested();
                    learningRate = optimizer.ParamGroups.First().LearningRate;
                    var (loss, hits) = Step(model, optimizer, epoch, batch, train.Shape, device);
                    scheduler.step();
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
                        if (bestPath is not null) SaveModelFile(bestPath, model);
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
            if (options.RestoreBestModel && bestState is not null) Checkpoint.CopyState(bestState, model);
            // In the layout the epochs were validated in, so that the best epoch's metrics come out again bit for bit.
            finalValidation = validation is null ? null : Evaluate(model, validation, cancellation);
        }
        catch (OperationCanceledException) when (checkpointPath is not null)
        {
            Checkpoint.Save(checkpointPath, model, optimizer, position);
            throw;
        }
        finally
        {
            // Also when training throws (cancelled, diverged): the best-model copy is not left to the finalizer,
            // and the caller gets the weights back in the layout they had.
            DisposeState(bestState);
            layout?.Dispose();
        }

        return new TrainingResult(position.History, position.BestEpoch, finalValidation, position.StoppedEarly, resumedFrom);
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
    private (double Loss, long Correct) Step(nn.Module<Tensor, Tensor> model, SGD optimizer, int epoch, ImageBatch batch, ImageShape shape, Device device)
    {
        using var scope = NewDisposeScope();
        var images = ImagesTensor(batch, shape, device, Options.ChannelsLast);
        var labels = tensor(batch.Labels, [batch.Count], int64, device);
        optimizer.zero_grad();
        var logits = model.call(images);
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

    private static Dictionary<string, Tensor> CopyState(nn.Module model)
    {
        // The scope frees the intermediate detach() results; the clones leave it.
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return model.state_dict().ToDictionary(s => s.Key, s => s.Value.detach().clone().DetachFromDisposeScope());
    }

    /// <summary>
    /// Writes the model's state_dict in TorchSharp's <c>Module.save</c> format (so <c>model.load(path)</c> reads it),
    /// contiguous whatever the training layout, as a <see cref="ChecksummedFile"/> (the trailer follows the state_dict).
    /// </summary>
    internal static void SaveModelFile(string path, nn.Module model)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var state = model.state_dict().ToDictionary(s => s.Key, s => s.Value.detach().contiguous());
        ChecksummedFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            nn.Module.save_state_dict(writer, state);
        });
    }

    /// <summary>
    /// A file of <see cref="SaveModelFile"/> as tensors by state_dict name, on
    /// the CPU (the caller disposes them); checked against <paramref name="model"/>'s names and sizes.
    /// </summary>
    /// <exception cref="InvalidDataException">When the file is not such a file, or was written for another model.</exception>
    internal static Dictionary<string, Tensor> LoadModelFile(string path, nn.Module model)
    {
        var state = ReadModelFile(path);
        var expected = model.state_dict();
        var differences = expected.Keys.Except(state.Keys).Concat(state.Keys.Except(expected.Keys))
            .Concat(expected.Where(e => state.TryGetValue(e.Key, out var t) && !t.shape.SequenceEqual(e.Value.shape)).Select(e => e.Key)).ToList();
        if (differences.Count == 0) return state;
        DisposeState(state);
        throw new InvalidDataException($"{path} was written for another model (these tensors differ: {string.Join(", ", differences)}).");
    }

    /// <summary>
    /// A file of <see cref="SaveModelFile"/> (TorchSharp's <c>Module.save</c> format: a LEB128 count, then name and tensor
    /// pairs; then the checksum) as tensors by name, on the CPU, without a model to load it into (the caller disposes them).
    /// </summary>
    /// <exception cref="InvalidDataException">When the file is not such a file, or is damaged or truncated.</exception>
    internal static Dictionary<string, Tensor> ReadModelFile(string path)
    {
        var state = new Dictionary<string, Tensor>();
        var remedy = $"Delete it, and the {CheckpointFileName} beside it, to train afresh, or restore it from a copy.";
        using var stream = ChecksummedFile.OpenVerified(path, "model file", remedy);
        try
        {
            using var reader = new BinaryReader(stream);
            var count = reader.Read7BitEncodedInt64();
            for (long i = 0; i < count; i++)
            {
                var name = reader.ReadString();
                state[name] = TensorExtensionMethods.Load(reader).DetachFromDisposeScope();
            }
            return state;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            DisposeState(state);
            throw new InvalidDataException($"{path} is not a model file of TorchSharp's Module.save format: {e.Message} {remedy}", e);
        }
    }

    private static void DisposeState(Dictionary<string, Tensor>? state)
    {
        if (state is null) return;
        foreach (var tensor in state.Values) tensor.Dispose();
    }
}
