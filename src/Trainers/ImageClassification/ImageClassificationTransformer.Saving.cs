using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLNetNormalization;
using MLNetNormalization.Normalization;
using MLNetNormalization.Trainers;
using MLNetNormalization.Trainers.Backbones;
using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.NN;
using MLNetNormalization.TorchBinding.Serialization;

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
/// <c>Weights.bin</c> with the network's parameters and running statistics bit for bit (docs/model-file-format.md).
/// A loaded model is rebuilt, given the saved weights, put in eval mode and given the saved alpha, so on the same
/// device it computes exactly what the saved one did.
/// </summary>
public sealed partial class ImageClassificationTransformer
{
    internal const string LoaderSignature = "ImageClassifierWithNorm";
    private const string WeightsStream = "Weights.bin";

    private static VersionInfo GetVersionInfo() => new(
        modelSignature: "MLNNORMC",
        verWrittenCur: 0x00010001,
        verReadableCur: 0x00010001,
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
            Columns, InferenceAlpha, Device.Type.ToString())));
        // Under the forward-pass lock, as Dispose takes it: the weights are never read from a freed network.
        lock (_model)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ctx.SaveBinaryStream(WeightsStream, writer => TensorFile.Save(writer.BaseStream, _model.State()));
        }
    }

    /// <summary>The loader ML.NET calls (through the LoadableClass attribute) for a model saved by this class.</summary>
    internal static ImageClassificationTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ctx.CheckAtModel(GetVersionInfo());
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
        if (!Enum.TryParse<DeviceType>(saved.Device, out var deviceType) || !Enum.IsDefined(deviceType))
            throw Damaged(ctx, $"the device '{saved.Device}' is not one this build knows");
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
        var device = deviceType == DeviceType.Cuda && Torch.IsCudaAvailable ? TorchBinding.Device.Cuda(0) : TorchBinding.Device.Cpu;
        var shape = new ImageShape(saved.Channels, saved.Height, saved.Width);
        Module model;
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
            Dictionary<string, Tensor>? state = null;
            if (!ctx.TryLoadBinaryStream(WeightsStream, reader => state = TensorFile.Load(reader.BaseStream, $"{ctx.Directory}/{WeightsStream}")))
                throw Damaged(ctx, $"the stream {WeightsStream} with the weights is missing");
            try
            {
                model.LoadState(state!);
            }
            catch (InvalidDataException e)
            {
                // The description and the weights each read well but do not describe the same network.
                throw Damaged(ctx, $"its weights do not fit the network its description gives: {e.Message}", e);
            }
            finally
            {
                foreach (var tensor in state!.Values) tensor.Dispose();
            }
            if (saved.InferenceAlpha is { } inferenceAlpha) NormalizationModel.SetInferenceAlpha(model, inferenceAlpha);
            return new ImageClassificationTransformer(model, architecture, plan, featureKind, shape, classes, columns, saved.InferenceAlpha, device);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static InvalidDataException Damaged(ModelLoadContext ctx, string what, Exception? inner = null) => new(
        $"The ImageClassifierWithNorm model in '{ctx.Directory}' of this model file is damaged or from another version: {what}. " +
        "Save the model again with this version, or load it with the version that saved it.", inner);
}
