using System.Globalization;
using Google.Protobuf;
using MLNetNormalization.Normalization;

namespace MLNetNormalization;

// ONNX export: the network as an ONNX model (OnnxExport), with what the model is in its metadata.
public sealed partial class ImageClassificationTransformer
{
    /// <summary>
    /// Writes the classifier as an ONNX model (see <see cref="OnnxExport"/>: opset <see cref="OnnxExport.OpsetVersion"/>,
    /// <c>Features</c> [N, C, H, W] float32 in; <c>Score</c> [N, classes] and <c>PredictedLabel</c> [N] int64, a zero-based
    /// index into <see cref="ClassNames"/>, out), which ONNX Runtime and <c>ml.Transforms.ApplyOnnxModel</c> score without
    /// TorchSharp. The metadata also records the class names, backbone, normalizer and inference alpha.
    /// </summary>
    /// <exception cref="NotSupportedException">A module of a user's backbone that the exporter does not know (the message names it).</exception>
    public void ExportToOnnx(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        OnnxModel().WriteTo(destination);
    }

    /// <summary>
    /// Writes the ONNX model (as <see cref="ExportToOnnx(Stream)"/>) to the file <paramref name="path"/>, replacing it only
    /// once the new one is complete: a failure or a kill leaves the file that was there.
    /// </summary>
    public void ExportToOnnx(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var model = OnnxModel();
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        {
            model.WriteTo(file);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    private global::Onnx.ModelProto OnnxModel()
    {
        lock (_model)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return OnnxExport.Build(_model, Shape, ClassNames, new Dictionary<string, string>
            {
                ["backbone"] = Backbone,
                ["normalizer"] = Normalizer,
                ["inference_alpha"] = InferenceAlpha?.ToString(CultureInfo.InvariantCulture) ?? "",
                ["features_column"] = FeatureColumnName,
            });
        }
    }
}
