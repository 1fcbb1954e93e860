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
/// <c>Module.save</c> writes its <c>state_dict</c> (docs/model-file-format.md).
/// A loaded model is rebuilt, given the saved weights, put in eval mode and given the saved alpha, so on the same
/// device it computes exactly what the saved one did.
/// </summary>
public sealed partial class ImageClassificationTransformer
{
    internal const string LoaderSignature = "ImageClassifierWithNorm";
    private const string WeightsStream = "Weights.bin";

    // 0x00010001: Weights.bin in our own tensor file format (before TorchSharp); 0x00010002: TorchSharp's Module.save format.
    // Files of 0x00010001 pass ML.NET's version check so that Create refuses them with a message of its own.
    private const uint TorchSharpWeightsVersion = 0x00010002;

    private static VersionInfo GetVersionInfo() => new(
        modelSignature: "MLNNORMC",
        verWrittenCur: TorchSharpWeightsVersion,
        verReadableCur: TorchSharpWeightsVersion,
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
        ctx.Writer.Write(JsonSerializer.Serialize(new SavedClassifier(
            Architecture.ToString(), Plan.Normalizer, Plan.Placement.ToString(), Plan.OtherLayers,
            FeatureKind.ToString(), Shape.Channels, Shape.Height, Shape.Width, count, keyValueType, names,
            Columns, InferenceAlpha, (Device.type == DeviceType.CUDA ? ComputeDevice.Cuda : ComputeDevice.Cpu).ToString())));
        // Under the forward-pass lock, as Dispose takes it: the weights are never read from a freed network.
        lock (_model)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // The writer is ML.NET's (save(BinaryWriter) leaves it open); save(Stream) would close the zip entry under it.
            ctx.SaveBinaryStream(WeightsStream, writer => _model.save(writer));
        }
    }

    /// <summary>The loader ML.NET calls (through the LoadableClass attribute) for a model saved by this class.</summary>
    internal static ImageClassificationTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ctx.CheckAtModel(GetVersionInfo());
        if (ctx.Header.ModelVerWritten < TorchSharpWeightsVersion)
            throw Damaged(ctx, $"it was saved by a version before the port to TorchSharp (model version 0x{ctx.Header.ModelVerWritten:X8}), whose weights file this version does not read");
        SavedClassifier saved;
        try
        {
            saved = JsonSerializer.Deserialize<SavedClassifier>(ctx.Reader.ReadString()) ?? throw new JsonException("null");
        }
        catch (Exception e) when (e is JsonException or EndOfStreamException or IOException)
        {
            throw Damaged(ctx, $"its description cannot be read ({e.Message})", e);
        }

        if (!Enum.TryParse<Architecture>(saved.Architecture, out var architecture) || !Enum.IsDefined(architecture))
            throw Damaged(ctx, $"the architecture '{saved.Architecture}' is not one this build knows ({string.Join(", ", Enum.GetNames<Architecture>())})");
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
        var shape = new ImageShape(saved.Channels, saved.Height, saved.Width);
        nn.Module<Tensor, Tensor> model;
        try
        {
            model = Rebuild(architecture, plan, shape, classes.Count, device);
        }
        catch (ArgumentException e)
        {
            throw Damaged(ctx, $"its network cannot be built ({e.Message})", e);
        }
        try
        {
            if (!ctx.TryLoadBinaryStream(WeightsStream, reader => LoadWeights(ctx, model, reader)))
                throw Damaged(ctx, $"the stream {WeightsStream} with the weights is missing");
            if (saved.InferenceAlpha is { } inferenceAlpha) NormalizationModel.SetInferenceAlpha(model, inferenceAlpha);
            return new ImageClassificationTransformer(model, architecture, plan, featureKind, shape, classes, columns, saved.InferenceAlpha, device);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads <see cref="WeightsStream"/> into the rebuilt network with TorchSharp's <c>Module.load</c>: the same names,
    /// element types and shapes as the network's <c>state_dict</c>, in any order, and nothing after them.
    /// </summary>
    private static void LoadWeights(ModelLoadContext ctx, nn.Module<Tensor, Tensor> model, BinaryReader reader)
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
            throw Damaged(ctx, $"its weights do not fit the network its description gives: {e.Message}", e);
        }
        if (reader.BaseStream.ReadByte() != -1)
            throw Damaged(ctx, $"{entry} has bytes after the weights of the network its description gives");
    }

    private static InvalidDataException Damaged(ModelLoadContext ctx, string what, Exception? inner = null) => new(
        $"The ImageClassifierWithNorm model in '{ctx.Directory}' of this model file is damaged or from another version: {what}. " +
        "Save the model again with this version, or load it with the version that saved it.", inner);
}
