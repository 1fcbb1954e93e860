using TorchSharp;
using static TorchSharp.torch;

namespace MLNetNormalization.Training;

/// <summary>
/// A model's state_dict alone (the best model of a run, <see cref="ClassifierTrainer.BestModelFileName"/>) in TorchSharp's
/// <c>Module.save</c> format, so that <c>model.load(path)</c> reads it, as a <see cref="ChecksummedFile"/> (the trailer
/// follows the state_dict). The format: a LEB128 count, then name and tensor pairs.
/// </summary>
internal static class ModelFile
{
    /// <summary>Writes <paramref name="model"/>'s state_dict to <paramref name="path"/>, contiguous whatever the training layout.</summary>
    internal static void Save(string path, nn.Module model)
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
    /// A file of <see cref="Save"/> as tensors by state_dict name, on
    /// the CPU (the caller disposes them); checked against <paramref name="model"/>'s names and sizes.
    /// </summary>
    /// <exception cref="InvalidDataException">When the file is not such a file, or was written for another model.</exception>
    internal static Dictionary<string, Tensor> Load(string path, nn.Module model)
    {
        var state = Read(path);
        var expected = model.state_dict();
        var differences = expected.Keys.Except(state.Keys).Concat(state.Keys.Except(expected.Keys))
            .Concat(expected.Where(e => state.TryGetValue(e.Key, out var t) && !t.shape.SequenceEqual(e.Value.shape)).Select(e => e.Key)).ToList();
        if (differences.Count == 0) return state;
        Checkpoint.DisposeState(state);
        throw new InvalidDataException($"{path} was written for another model (these tensors differ: {string.Join(", ", differences)}).");
    }

    /// <summary>
    /// A file of <see cref="Save"/> as tensors by name, on the CPU, without a model to load it into (the caller disposes them).
    /// </summary>
    /// <exception cref="InvalidDataException">When the file is not such a file, or is damaged or truncated.</exception>
    internal static Dictionary<string, Tensor> Read(string path)
    {
        var state = new Dictionary<string, Tensor>();
        var remedy = $"Delete it, and the {ClassifierTrainer.CheckpointFileName} beside it, to train afresh, or restore it from a copy.";
        using var stream = ChecksummedFile.OpenVerified(path, "model file", remedy);
        try
        {
            using var reader = new BinaryReader(stream);
            ReadState(reader, state);
            return state;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Checkpoint.DisposeState(state);
            throw new InvalidDataException($"{path} is not a model file of TorchSharp's Module.save format: {e.Message} {remedy}", e);
        }
    }

    /// <summary>
    /// Reads a state_dict in TorchSharp's <c>Module.save</c> format (a LEB128 count, then name and tensor pairs) into
    /// <paramref name="state"/>, on the CPU and out of any dispose scope; what it read before an error stays there for the
    /// caller to dispose.
    /// </summary>
    internal static void ReadState(BinaryReader reader, Dictionary<string, Tensor> state)
    {
        var count = reader.Read7BitEncodedInt64();
        for (long i = 0; i < count; i++)
        {
            var name = reader.ReadString();
            state[name] = TensorExtensionMethods.Load(reader).DetachFromDisposeScope();
        }
    }
}
