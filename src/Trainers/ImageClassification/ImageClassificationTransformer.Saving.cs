using MLNetNormalization.Data;
using MLNetNormalization.Model;
using MLNetNormalization.Normalization;
using MLNetNormalization.Trainers.Backbones;
using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.NN;

namespace MLNetNormalization.Trainers.ImageClassification;

/// <summary>
/// The saved form of a trained classifier: what rebuilds the network (architecture, normalizer plan, input shape,
/// class count) with the label's key values, the column names, the inference alpha and the device in
/// <c>classifier.json</c>, and the network's parameters and running statistics, bit for bit, in <c>weights.bin</c>.
/// A loaded model is rebuilt, given the saved weights, put in eval mode and given the saved alpha, so on the same
/// device it computes exactly what the saved one did.
/// </summary>
public sealed partial class ImageClassificationTransformer : ISavableTransformer
{
    internal const string SavedKindName = "ImageClassifierWithNorm";

    private const string ClassifierEntry = "classifier.json";
    private const string WeightsEntry = "weights.bin";

    /// <summary>Enums by name, so that the file does not depend on the members' order.</summary>
    private sealed record ClassifierJson(
        string Architecture, string Normalizer, string Placement, string OtherLayers,
        int Channels, int Height, int Width, int ClassCount,
        SchemaJson.Annotation[] LabelAnnotations, ColumnNames Columns, double? InferenceAlpha, string Device);

    string ISavableTransformer.KindName => SavedKindName;

    void ISavableTransformer.Save(ModelWriter writer)
    {
        writer.WriteJson(ClassifierEntry, new ClassifierJson(
            Architecture.ToString(), Plan.Normalizer, Plan.Placement.ToString(), Plan.OtherLayers,
            Shape.Channels, Shape.Height, Shape.Width, ClassCount,
            SchemaJson.FromAnnotations(LabelAnnotations, $"the column '{Columns.PredictedLabel}'"), Columns, InferenceAlpha, Device.Type.ToString()));
        // Under the forward-pass lock, as Dispose takes it: the weights are never read from a freed network.
        lock (_model)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            writer.WriteTensors(WeightsEntry, _model.State());
        }
    }

    internal static ImageClassificationTransformer Load(ModelReader reader)
    {
        var json = reader.ReadJson<ClassifierJson>(ClassifierEntry);
        var architecture = reader.ParseEnum<Architecture>(ClassifierEntry, json.Architecture);
        var placement = reader.ParseEnum<NormalizerPlacement>(ClassifierEntry, json.Placement);
        var deviceType = reader.ParseEnum<DeviceType>(ClassifierEntry, json.Device);
        if (json.Channels < 1 || json.Height < 1 || json.Width < 1)
            throw reader.Damaged(ClassifierEntry, $"the image shape {json.Channels}x{json.Height}x{json.Width}");
        if (json.ClassCount < 1) throw reader.Damaged(ClassifierEntry, $"{json.ClassCount} classes");
        if (json.InferenceAlpha is { } alpha && !(alpha is >= 0 and <= 1)) throw reader.Damaged(ClassifierEntry, $"the inference alpha {alpha}, outside [0, 1]");
        var columns = json.Columns;
        if (new[] { columns.Label, columns.Features, columns.Score, columns.PredictedLabel }.Any(string.IsNullOrEmpty) || columns.Score == columns.PredictedLabel)
            throw reader.Damaged(ClassifierEntry, $"the column names {columns}");

        DataViewSchema.Annotations labelAnnotations;
        NormalizerPlan plan;
        try
        {
            labelAnnotations = SchemaJson.ToAnnotations(json.LabelAnnotations, reader.DamagedEntry(ClassifierEntry), "the label");
            plan = new NormalizerPlan(json.Normalizer, placement, json.OtherLayers);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException)
        {
            throw reader.Damaged(ClassifierEntry, $"a label annotation or normalizer this build cannot use ({e.Message})");
        }
        // The class names come from the key values: as many as classes, or PredictedLabel's key values would lie.
        if (labelAnnotations.Contains(AnnotationKinds.KeyValues)
            && labelAnnotations.TypeOf(AnnotationKinds.KeyValues) is VectorDataViewType { Size: var names } && names != json.ClassCount)
            throw reader.Damaged(ClassifierEntry, $"{json.ClassCount} classes but {names} label key values");

        // A file written where CUDA was used still loads where it is not: the same weights, on the CPU.
        var device = deviceType == DeviceType.Cuda && Torch.IsCudaAvailable ? TorchBinding.Device.Cuda(0) : TorchBinding.Device.Cpu;
        var shape = new ImageShape(json.Channels, json.Height, json.Width);
        Module model;
        try
        {
            model = Rebuild(architecture, plan, shape, json.ClassCount, device);
        }
        catch (ArgumentException e)
        {
            throw reader.Damaged(ClassifierEntry, $"a network that cannot be built ({e.Message})");
        }
        try
        {
            var state = reader.ReadTensors(WeightsEntry);
            try
            {
                model.LoadState(state);
            }
            catch (InvalidDataException e)
            {
                // The JSON and the weights each passed their checksums but do not describe the same network.
                throw new InvalidDataException($"{reader.DamagedEntry(WeightsEntry)} does not fit the network {ClassifierEntry} describes: {e.Message}", e);
            }
            finally
            {
                foreach (var tensor in state.Values) tensor.Dispose();
            }
            if (json.InferenceAlpha is { } inferenceAlpha) NormalizationModel.SetInferenceAlpha(model, inferenceAlpha);
            return new ImageClassificationTransformer(model, architecture, plan, shape, json.ClassCount, labelAnnotations, columns, json.InferenceAlpha, device);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
