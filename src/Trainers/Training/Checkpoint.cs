using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.NN;
using MLNetNormalization.TorchBinding.Optim;
using MLNetNormalization.TorchBinding.Serialization;

namespace MLNetNormalization.Trainers.Training;

/// <summary>Where a run stands: what a checkpoint records besides tensors, as JSON.</summary>
internal sealed record TrainingPosition
{
    /// <summary>The epoch in progress (0-based) and its next batch.</summary>
    public int Epoch { get; init; }
    public int NextBatch { get; init; }
    public int GlobalStep { get; init; }
    public double EpochLossSum { get; init; }
    public long EpochCorrect { get; init; }
    public long EpochSeen { get; init; }
    public int? BestEpoch { get; init; }
    public double? BestMetric { get; init; }
    public int EpochsWithoutImprovement { get; init; }
    public bool StoppedEarly { get; init; }
    public List<EpochSummary> History { get; init; } = [];

    /// <summary>The options and data a run was started with; a resumed run must match them.</summary>
    public JsonObject Fingerprint { get; init; } = [];

    public override string ToString() => $"epoch {Epoch + 1}, batch {NextBatch}";
}

/// <summary>
/// A training checkpoint in one tensor file (written to a temporary file and renamed, so a crash mid-write
/// leaves the previous checkpoint intact): the model's parameters and buffers ("model.*"), the optimizer's
/// momentum buffers ("optimizer.{group}.{parameter}"), the global generator's state and the position as JSON.
/// </summary>
internal static class Checkpoint
{
    private const string ModelPrefix = "model.", OptimizerPrefix = "optimizer.", RngStateName = "rng_state", PositionName = "position.json";

    public static void Save(string path, Module model, SGD optimizer, TrainingPosition position)
    {
        using var scope = Torch.NewDisposeScope();
        var entries = model.State().Select(s => (ModelPrefix + s.Name, s.Value)).ToList();
        for (var g = 0; g < optimizer.Groups.Count; g++)
            for (var p = 0; p < optimizer.Groups[g].Parameters.Count; p++)
                if (optimizer.MomentumBuffer(g, p) is { } buffer)
                    entries.Add(($"{OptimizerPrefix}{g}.{p}", buffer));
        entries.Add((RngStateName, Torch.GetRngState()));
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(position));
        entries.Add((PositionName, Tensor.FromArray(json, json.Length)));
        TensorFile.Save(path, entries);
    }

    /// <summary>
    /// Restores model, optimizer and generator from <paramref name="path"/> and returns the position.
    /// <paramref name="verify"/> sees the position first and may throw to refuse the checkpoint, which then
    /// changes nothing.
    /// </summary>
    public static TrainingPosition Load(string path, Module model, SGD optimizer, Action<TrainingPosition> verify)
    {
        var tensors = TensorFile.Load(path);
        try
        {
            if (!tensors.TryGetValue(PositionName, out var positionBytes) || !tensors.TryGetValue(RngStateName, out var rngState))
                throw new InvalidDataException($"{path} is a tensor file but not a training checkpoint (no {PositionName} or {RngStateName}).");
            var position = JsonSerializer.Deserialize<TrainingPosition>(positionBytes.ToArray<byte>())
                ?? throw new InvalidDataException($"{path}: the training position is empty.");
            verify(position);
            var modelState = tensors.Where(t => t.Key.StartsWith(ModelPrefix, StringComparison.Ordinal))
                .ToDictionary(t => t.Key[ModelPrefix.Length..], t => t.Value);
            try
            {
                model.LoadState(modelState);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{path} was written for another model: {e.Message}", e);
            }
            for (var g = 0; g < optimizer.Groups.Count; g++)
                for (var p = 0; p < optimizer.Groups[g].Parameters.Count; p++)
                    if (tensors.TryGetValue($"{OptimizerPrefix}{g}.{p}", out var buffer))
                    {
                        // Files load on the CPU; the buffer must live where its parameter does (a GPU, say).
                        using var onDevice = buffer.To(optimizer.Groups[g].Parameters[p].Device);
                        optimizer.SetMomentumBuffer(g, p, onDevice);
                    }
            Torch.SetRngState(rngState);
            return position;
        }
        finally
        {
            foreach (var tensor in tensors.Values) tensor.Dispose();
        }
    }
}
