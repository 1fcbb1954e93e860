using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetNormalization.Training;

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
/// A training checkpoint in one <see cref="ChecksummedFile"/>: written to a temporary file and renamed, so that a kill
/// mid-write leaves the previous checkpoint intact, and refused when damaged afterwards. Layout (a
/// <see cref="BinaryWriter"/> stream): a format line, a JSON header (the position, and the name, type and sizes of every
/// tensor), then the tensors in header order, each in TorchSharp's own tensor format (<c>Tensor.Save</c>), then the
/// SHA-256 trailer. The tensors: the model's state_dict ("model.*"), SGD's momentum buffers
/// ("optimizer.{group}.{parameter}", in the optimizer's group and parameter order) and the CPU generator's state
/// ("rng_state"). Tensors are written contiguous and on the CPU, whatever their layout and device in training.
/// </summary>
internal static class Checkpoint
{
    private const string Format = "MLNetNormalization training checkpoint, TorchSharp, version 2";
    private const string What = "training checkpoint";
    private const string ModelPrefix = "model.", OptimizerPrefix = "optimizer.", RngStateName = "rng_state";

    private sealed record TensorEntry(string Name, ScalarType Type, long[] Shape);

    private sealed record Header(TrainingPosition Position, List<TensorEntry> Tensors);

    public static void Save(string path, nn.Module model, SGD optimizer, TrainingPosition position)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tensors = model.state_dict().Select(s => (ModelPrefix + s.Key, s.Value)).ToList();
        var states = optimizer.state_dict().State;
        var index = 0;
        var groups = optimizer.ParamGroups.Cast<ParamGroup>().ToList();
        for (var g = 0; g < groups.Count; g++)
            foreach (var _ in groups[g].Parameters)
            {
                if (states[index] is SGD.State { momentum_buffer: { } buffer })
                    tensors.Add(($"{OptimizerPrefix}{g}.{index - FirstIndex(groups, g)}", buffer));
                index++;
            }
        tensors.Add((RngStateName, random.get_rng_state()));
        WriteTensors(path, position, tensors);
    }

    /// <summary>Writes <paramref name="tensors"/> (and the position) atomically to <paramref name="path"/>.</summary>
    internal static void WriteTensors(string path, TrainingPosition? position, IReadOnlyList<(string Name, Tensor Value)> tensors)
    {
        using var scope = NewDisposeScope();
        var cpu = tensors.Select(t => (t.Name, Value: t.Value.detach().to(CPU).contiguous())).ToList();
        var header = new Header(position ?? new TrainingPosition(), cpu.Select(t => new TensorEntry(t.Name, t.Value.dtype, t.Value.shape)).ToList());
        ChecksummedFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            writer.Write(Format);
            writer.Write(JsonSerializer.Serialize(header));
            foreach (var (_, value) in cpu) value.Save(writer);
        });
    }

    /// <summary>What to do with a checkpoint that cannot be read.</summary>
    private static string Remedy(string path) =>
        $"Training cannot resume from it: delete {path} to train afresh (or give another {nameof(TrainingOptions.WorkspacePath)}), or restore it from a copy.";

    /// <summary>The seed of the run that wrote the checkpoint at <paramref name="path"/>, from its header; null when it records none.</summary>
    /// <exception cref="InvalidDataException">The file is not a training checkpoint of this version, or it is damaged or truncated.</exception>
    internal static ulong? ReadSeed(string path)
    {
        using var stream = ChecksummedFile.OpenVerified(path, What, Remedy(path));
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        var header = ReadHeader(reader, path);
        return header.Position.Fingerprint[nameof(TrainingOptions.Seed)]?.GetValue<ulong>();
    }

    private static Header ReadHeader(BinaryReader reader, string path)
    {
        try
        {
            var format = reader.ReadString();
            if (format != Format) throw new InvalidDataException($"{path} is not a training checkpoint of this version (it starts with \"{format[..Math.Min(format.Length, 80)]}\"). {Remedy(path)}");
            return JsonSerializer.Deserialize<Header>(reader.ReadString()) ?? throw new InvalidDataException($"{path}: the checkpoint header is empty. {Remedy(path)}");
        }
        catch (Exception e) when (e is EndOfStreamException or JsonException or NotSupportedException)
        {
            throw new InvalidDataException($"{path} is not a training checkpoint of this version: {e.Message} {Remedy(path)}", e);
        }
    }

    /// <summary>Every tensor of a checkpoint file by name (on the CPU; the caller disposes them), and its position.</summary>
    /// <exception cref="InvalidDataException">The file is not a training checkpoint of this version, or it is damaged or truncated.</exception>
    internal static (TrainingPosition Position, Dictionary<string, Tensor> Tensors) ReadTensors(string path)
    {
        using var stream = ChecksummedFile.OpenVerified(path, What, Remedy(path));
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        var header = ReadHeader(reader, path);
        var tensors = new Dictionary<string, Tensor>();
        try
        {
            foreach (var entry in header.Tensors)
            {
                var tensor = empty(entry.Shape, entry.Type).DetachFromDisposeScope();
                tensors.Add(entry.Name, tensor);
                tensor.Load(reader);
            }
        }
        catch (Exception e)
        {
            DisposeState(tensors);
            throw new InvalidDataException($"{path}: the checkpoint's tensors cannot be read: {e.Message} {Remedy(path)}", e);
        }
        return (header.Position, tensors);
    }

    /// <summary>
    /// Restores model, optimizer and generator from <paramref name="path"/> and returns the position.
    /// <paramref name="verify"/> sees the position first and may throw to refuse the checkpoint, which then
    /// changes nothing.
    /// </summary>
    public static TrainingPosition Load(string path, nn.Module model, SGD optimizer, Action<TrainingPosition> verify)
    {
        var (position, tensors) = ReadTensors(path);
        try
        {
            if (!tensors.TryGetValue(RngStateName, out var rngState))
                throw new InvalidDataException($"{path} is not a training checkpoint (no {RngStateName}).");
            verify(position);
            var modelState = tensors.Where(t => t.Key.StartsWith(ModelPrefix, StringComparison.Ordinal))
                .ToDictionary(t => t.Key[ModelPrefix.Length..], t => t.Value);
            try
            {
                CopyState(modelState, model);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{path} was written for another model: {e.Message}", e);
            }
            var states = optimizer.state_dict().State;
            var groups = optimizer.ParamGroups.Cast<ParamGroup>().ToList();
            var index = 0;
            for (var g = 0; g < groups.Count; g++)
            {
                var p = 0;
                foreach (var parameter in groups[g].Parameters)
                {
                    if (states[index] is SGD.State state && tensors.TryGetValue($"{OptimizerPrefix}{g}.{p}", out var buffer))
                    {
                        // Files load on the CPU; the buffer must live where its parameter does (a GPU, say), and be laid out as it is.
                        using var noGrad = no_grad();
                        var onDevice = empty_like(parameter).DetachFromDisposeScope();
                        onDevice.copy_(buffer);
                        state.momentum_buffer?.Dispose();
                        state.momentum_buffer = onDevice;
                    }
                    index++;
                    p++;
                }
            }
            random.set_rng_state(rngState);
            return position;
        }
        finally
        {
            DisposeState(tensors);
        }
    }

    /// <summary>
    /// Copies <paramref name="state"/> into <paramref name="model"/>'s parameters and buffers by state_dict name, values
    /// only (each keeps its device, type and layout). Every name must match both ways, with the same sizes.
    /// </summary>
    /// <exception cref="InvalidDataException">When the names or sizes differ; nothing is copied then.</exception>
    internal static void CopyState(IReadOnlyDictionary<string, Tensor> state, nn.Module model)
    {
        var target = model.state_dict();
        var missing = target.Keys.Except(state.Keys).ToList();
        var extra = state.Keys.Except(target.Keys).ToList();
        var mismatched = target.Where(t => state.TryGetValue(t.Key, out var s) && !s.shape.SequenceEqual(t.Value.shape))
            .Select(t => $"{t.Key} [{string.Join(", ", state[t.Key].shape)}] for [{string.Join(", ", t.Value.shape)}]").ToList();
        if (missing.Count + extra.Count + mismatched.Count > 0)
            throw new InvalidDataException(
                (missing.Count > 0 ? $"missing {string.Join(", ", missing)}; " : "") + (extra.Count > 0 ? $"unexpected {string.Join(", ", extra)}; " : "") +
                (mismatched.Count > 0 ? $"other sizes: {string.Join(", ", mismatched)}; " : "") + "build the same model to load this state.");
        using var noGrad = no_grad();
        foreach (var (name, tensor) in target) tensor.copy_(state[name]);
    }

    /// <summary>
    /// A copy of <paramref name="model"/>'s state_dict by name, detached and on the model's device (the caller disposes
    /// it with <see cref="DisposeState"/>); <see cref="CopyState(IReadOnlyDictionary{string, Tensor}, nn.Module)"/> puts it back.
    /// </summary>
    internal static Dictionary<string, Tensor> CloneState(nn.Module model)
    {
        // The scope frees the intermediate detach() results; the clones leave it.
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return model.state_dict().ToDictionary(s => s.Key, s => s.Value.detach().clone().DetachFromDisposeScope());
    }

    /// <summary>Disposes the tensors of a state read or cloned here or by <see cref="ModelFile"/>; nothing when null.</summary>
    internal static void DisposeState(IReadOnlyDictionary<string, Tensor>? state)
    {
        if (state is null) return;
        foreach (var tensor in state.Values) tensor.Dispose();
    }

    private static int FirstIndex(List<ParamGroup> groups, int group) => groups.Take(group).Sum(g => g.Parameters.Count());
}
