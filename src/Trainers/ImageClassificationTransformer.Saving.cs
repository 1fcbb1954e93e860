using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLNetNormalization;
using MLNetNormalization.Normalization;
using MLNetNormalization.Backbones;
using TorchSharp;
using static TorchSharp.torch;

// ml.Model.Load reads the loader assembly's name from the model and finds this class through this attribute, so a
// fresh process loads a saved pipeline with no registration call.
[assembly: LoadableClass(typeof(ImageClassificationTransformer), null, typeof(SignatureLoadModel),
    "Image classifier with normalization", ImageClassificationTransformer.LoaderSignature)]

namespace MLNetNormalization;

/// <summary>
/// How ml.Model.Save keeps a trained classifier inside ML.NET's model zip (its own folder, as every transformer of a
/// chain gets): the header ML.NET writes (model signature "MLNNORMC", version, loader signature and this assembly's
/// name), then one JSON string with what rebuilds the network (architecture, normalizer plan, input shape, the label's
/// classes with their key values, the column names, the inference alpha, the device), and the stream
/// <c>Weights.bin</c> with the network's parameters and running statistics bit for bit, as TorchSharp's
/// <c>Module.save</c> writes its <c>state_dict</c>, and the stream <c>Checksum.sha256</c>: the SHA-256 of the description
/// and the weights, so that a file changed after it was saved is refused, never loaded with other weights or another
/// network (docs/model-file-format.md).
/// A loaded model is rebuilt, given the saved weights, put in eval mode and given the saved alpha, so on the same
/// device it computes exactly what the saved one did.
/// </summary>
public sealed partial class ImageClassificationTransformer
{
    internal const string LoaderSignature = "ImageClassifierWithNorm";
    private const string WeightsStream = "Weights.bin", ChecksumStream = "Checksum.sha256";

    // 0x00010001: Weights.bin in our own tensor file format (before TorchSharp); 0x00010002: TorchSharp's Module.save format;
    // 0x00010003: with Checksum.sha256. Files of 0x00010001 pass ML.NET's version check so that Create refuses them with a
    // message of its own; files of 0x00010002 (ML.NET 5.0.1 builds) load without a checksum.
    private const uint TorchSharpWeightsVersion = 0x00010002, ChecksummedVersion = 0x00010003;

    private static VersionInfo GetVersionInfo() => new(
        modelSignature: "MLNNORMC",
        verWrittenCur: ChecksummedVersion,
        verReadableCur: ChecksummedVersion,
        verWeCanReadBack: 0x00010001,
        loaderSignature: LoaderSignature,
        loaderAssemblyName: typeof(ImageClassificationTransformer).Assembly.FullName);

    /// <summary>Enums by name, so that the file does not depend on the members' order.</summary>
    private sealed record SavedClassifier(
        string Architecture, string Normalizer, string Placement, string OtherLayers,
        string Features, int Channels, int Height, int Width,
        int ClassCount, string? KeyValueType, string[] ClassNames,
        ColumnNames Columns, double? InferenceAlpha, string Device);

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        ctx.CheckAtModel();
        ctx.SetVersionInfo(GetVersionInfo());
        var (count, keyValueType, names) = LabelKeys.ToSaved();
        var description = JsonSerializer.Serialize(new SavedClassifier(
            Backbone, Plan.Normalizer, Plan.Placement.ToString(), Plan.OtherLayers,
            FeatureKind.ToString(), Shape.Channels, Shape.Height, Shape.Width, count, keyValueType, names,
            Columns, InferenceAlpha, (Device.type == DeviceType.CUDA ? ComputeDevice.Cuda : ComputeDevice.Cpu).ToString()));
        ctx.Writer.Write(description);
        byte[] weights;
        // Under the forward-pass lock, as Dispose takes it: the weights are never read from a freed network.
        lock (_model)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var memory = new MemoryStream();
            using (var writer = new BinaryWriter(memory, Encoding.UTF8, leaveOpen: true)) _model.save(writer);
            weights = memory.ToArray();
        }
        ctx.SaveBinaryStream(WeightsStream, writer => writer.Write(weights));
        ctx.SaveTextStream(ChecksumStream, writer => writer.Write(Checksum(description, weights)));
    }

    /// <summary>The SHA-256, in lower-case hex, of the description's UTF-8 bytes followed by the weights' bytes.</summary>
    internal static string Checksum(string description, byte[] weights)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(description));
        hash.AppendData(weights);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The loader ML.NET calls (through the LoadableClass attribute) for a model saved by this class.</summary>
    internal static ImageClassificationTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ctx.CheckAtModel(GetVersionInfo());
        if (ctx.Header.ModelVerWritten < TorchSharpWeightsVersion)
            throw Damaged(ctx, $"it was saved by a version before the port to TorchSharp (model version 0x{ctx.Header.ModelVerWritten:X8}), whose weights file this version does not read");
        string description;
        try
        {
            description = ctx.Reader.ReadString();
        }
        catch (Exception e) when (e is EndOfStreamException or IOException)
        {
            throw Damaged(ctx, $"its description cannot be read ({e.Message})", e);
        }
        byte[]? weights = null;
        if (!ctx.TryLoadBinaryStream(WeightsStream, reader => weights = ReadToEnd(reader)))
            throw Damaged(ctx, $"the stream {WeightsStream} with the weights is missing");
        if (ctx.Header.ModelVerWritten >= ChecksummedVersion)
        {
            string? recorded = null;
            if (!ctx.TryLoadTextStream(ChecksumStream, reader => recorded = reader.ReadToEnd()))
                throw Damaged(ctx, $"the stream {ChecksumStream} with the checksum of its description and weights is missing");
            var actual = Checksum(description, weights!);
            if (recorded != actual)
                throw Damaged(ctx, $"its description and weights do not match the SHA-256 saved with them in {ctx.Directory}/{ChecksumStream} " +
                                   $"(saved {recorded}, now {actual}): the file was changed after it was saved");
        }

        SavedClassifier saved;
        try
        {
            saved = JsonSerializer.Deserialize<SavedClassifier>(description) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw Damaged(ctx, $"its description cannot be read ({e.Message})", e);
        }

        // "Architecture" holds the backbone's registered name: a built-in architecture's, or a user's factory's.
        if (string.IsNullOrEmpty(saved.Architecture) || !BackboneRegistry.IsRegistered(saved.Architecture))
            throw Damaged(ctx, $"the architecture '{saved.Architecture}' is not one this build knows ({string.Join(", ", Enum.GetNames<Architecture>())}): " +
                               BackboneRegistry.NotRegistered(saved.Architecture ?? ""));
        if (!Enum.TryParse<NormalizerPlacement>(saved.Placement, out var placement) || !Enum.IsDefined(placement))
            throw Damaged(ctx, $"the normalizer placement '{saved.Placement}' is not one this build knows");
        if (!Enum.TryParse<FeatureKind>(saved.Features, out var featureKind) || !Enum.IsDefined(featureKind))
            throw Damaged(ctx, $"the features kind '{saved.Features}' is not one this build knows ({string.Join(", ", Enum.GetNames<FeatureKind>())})");
        if (!Enum.TryParse<ComputeDevice>(saved.Device, out var savedDevice) || savedDevice is not (ComputeDevice.Cpu or ComputeDevice.Cuda))
            throw Damaged(ctx, $"the device '{saved.Device}' is not one this build knows ({ComputeDevice.Cpu}, {ComputeDevice.Cuda})");
        if (saved.Channels < 1 || saved.Height < 1 || saved.Width < 1)
            throw Damaged(ctx, $"the image shape {saved.Channels}x{saved.Height}x{saved.Width}");
        if (saved.InferenceAlpha is { } alpha && !(alpha is >= 0 and <= 1))
            throw Damaged(ctx, $"the inference alpha {alpha}, outside [0, 1]");
        var columns = saved.Columns;
        if (columns is null || new[] { columns.Label, columns.Features, columns.Score, columns.PredictedLabel }.Any(string.IsNullOrEmpty) || columns.Score == columns.PredictedLabel)
            throw Damaged(ctx, $"the column names {columns}");
        var classes = LabelKeyValues.FromSaved(saved.ClassCount, saved.KeyValueType, saved.ClassNames)
            ?? throw Damaged(ctx, $"{saved.ClassCount} classes with {saved.ClassNames?.Length} key values of type '{saved.KeyValueType}'");
        NormalizerPlan plan;
        try
        {
            plan = new NormalizerPlan(saved.Normalizer, placement, saved.OtherLayers);
        }
        catch (ArgumentException e)
        {
            throw Damaged(ctx, $"the normalizer '{saved.Normalizer}' cannot be built by this build ({e.Message})", e);
        }

        // A model saved where CUDA was used still loads where it is not: the same weights, on the CPU.
        var device = savedDevice == ComputeDevice.Cuda && cuda.is_available() ? torch.device(DeviceType.CUDA, 0) : CPU;
        var rebuilt = new ClassifierDescription(saved.Architecture, plan, new ImageShape(saved.Channels, saved.Height, saved.Width), classes,
                                                    featureKind, columns, saved.InferenceAlpha, device);
        nn.Module<Tensor, Tensor> model;
        try
        {
            model = rebuilt.NewNetwork();
        }
        catch (ArgumentException e)
        {
            throw Damaged(ctx, $"its network cannot be built ({e.Message})", e);
        }
        try
        {
            using (var reader = new BinaryReader(new MemoryStream(weights!))) LoadWeights(ctx, model, reader, weights!);
            return new ImageClassificationTransformer(model, rebuilt);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The first difference between saved weights (TorchSharp's <c>Module.save</c> format) and a network's state_dict, in
    /// the network's order: an entry the weights lack or hold with another shape, else one the network lacks; null when
    /// the weights cannot be read or none differs.
    /// </summary>
    private static string? FirstDifference(byte[] weights, nn.Module model)
    {
        var tensors = new Dictionary<string, Tensor>();
        Dictionary<string, long[]> saved;
        try
        {
            using var reader = new BinaryReader(new MemoryStream(weights));
            Training.ModelFile.ReadState(reader, tensors);
            saved = tensors.ToDictionary(t => t.Key, t => t.Value.shape);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null;
        }
        finally
        {
            Training.Checkpoint.DisposeState(tensors);
        }
        static string Shape(long[] shape) => $"[{string.Join(", ", shape)}]";
        var network = model.state_dict();
        foreach (var (name, tensor) in network)
        {
            if (!saved.TryGetValue(name, out var shape)) return $"the network's '{name}' {Shape(tensor.shape)} is not in the saved weights";
            if (!shape.SequenceEqual(tensor.shape)) return $"'{name}' is {Shape(shape)} in the saved weights and {Shape(tensor.shape)} in the network";
        }
        var extra = saved.Keys.FirstOrDefault(name => !network.ContainsKey(name));
        return extra is null ? null : $"the saved weights' '{extra}' is not in the network";
    }

    /// <summary>
    /// Reads <see cref="WeightsStream"/> into the rebuilt network with TorchSharp's <c>Module.load</c>: the same names,
    /// element types and shapes as the network's <c>state_dict</c>, in any order, and nothing after them.
    /// </summary>
    private static void LoadWeights(ModelLoadContext ctx, nn.Module<Tensor, Tensor> model, BinaryReader reader, byte[] weights)
    {
        var entry = $"{ctx.Directory}/{WeightsStream}";
        try
        {
            // The reader is ML.NET's: load(BinaryReader) leaves it open, as TryLoadBinaryStream expects.
            model.load(reader, strict: true);
        }
        catch (EndOfStreamException e)
        {
            throw Damaged(ctx, $"{entry} is truncated: it ends inside the weights ({e.Message})", e);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException or IOException or NotImplementedException)
        {
            // TorchSharp's ArgumentException for a name, element type, shape or count that the network lacks; the others for bytes that are no state_dict at all.
            throw Damaged(ctx, $"its weights do not fit the network its description gives (for a backbone of your own: the factory registered as it must build the network it was trained with): {FirstDifference(weights, model) ?? e.Message}", e);
        }
        if (reader.BaseStream.ReadByte() != -1)
            throw Damaged(ctx, $"{entry} has bytes after the weights of the network its description gives");
    }

    private static byte[] ReadToEnd(BinaryReader reader)
    {
        using var memory = new MemoryStream();
        reader.BaseStream.CopyTo(memory);
        return memory.ToArray();
    }

    private static InvalidDataException Damaged(ModelLoadContext ctx, string what, Exception? inner = null) => new(
        $"The ImageClassifierWithNorm model in '{ctx.Directory}' of this model file is damaged or from another version: {what}. " +
        "Save the model again with this version, or load it with the version that saved it.", inner);
}
