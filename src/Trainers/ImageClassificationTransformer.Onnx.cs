using System.Globalization;
using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Model.OnnxConverter;
using MLNetNormalization.Onnx;

namespace MLNetNormalization;

// ONNX export: the network as an ONNX model (OnnxExport), with what the model is in its metadata; and the network in the
// graph ml.Model.ConvertToOnnx writes of a whole pipeline.
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
        Training.AtomicFile.Write(path, file => model.WriteTo(file));
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

    // ml.Model.ConvertToOnnx walks a pipeline's output back through the data views that can write themselves as ONNX
    // (ML.NET's ITransformCanSaveOnnx); the view Transform returns is one, so the converter writes the network in place.
    private sealed partial class ScoringView : ITransformCanSaveOnnx
    {
        IDataView IDataTransform.Source => _source;

        void ICanSaveModel.Save(ModelSaveContext ctx) =>
            throw new NotSupportedException("ImageClassifierWithNorm: save the fitted model with ml.Model.Save, not the data view its Transform returns.");

        /// <summary>True for features of pixels; throws for encoded images, naming the export that works.</summary>
        /// <exception cref="InvalidOperationException">Encoded-image features, which no ONNX graph decodes.</exception>
        public bool CanSaveOnnx(OnnxContext ctx)
        {
            var features = _model.FeatureColumnName;
            if (_model.FeatureKind == FeatureKind.EncodedImages)
                throw new InvalidOperationException(
                    $"ml.Model.ConvertToOnnx: the ImageClassifierWithNorm model reads encoded images from '{features}', which an ONNX graph cannot decode. " +
                    "Export the classifier with ml.Model.ExportImageClassifierToOnnx(model, stream) (or the model's ExportToOnnx): its graph takes the decoded " +
                    "pixels [N, C, H, W], / 255, which the consumer's LoadImages, ResizeImages and ExtractPixels(scaleImage: 1f / 255) give.");
            return true;
        }

        /// <summary>Writes the network from the features column's variable to new Score and PredictedLabel (key, uint32) variables.</summary>
        /// <exception cref="InvalidOperationException">The features column is not among the graph's values.</exception>
        public void SaveAsOnnx(OnnxContext ctx)
        {
            ctx.CheckOpSetVersion(OnnxExport.OpsetVersion, "ImageClassifierWithNorm");
            if (!ctx.ContainsColumn(_model.FeatureColumnName))
                throw new InvalidOperationException(
                    $"ml.Model.ConvertToOnnx: the ImageClassifierWithNorm model's features column '{_model.FeatureColumnName}' is not a value of the ONNX graph ML.NET " +
                    "is writing; pass ConvertToOnnx data that has the column. Or export the classifier alone with ml.Model.ExportImageClassifierToOnnx(model, stream).");
            var features = ctx.GetVariableName(_model.FeatureColumnName);
            Onnx.OnnxGraph graph;
            lock (_model._model)
            {
                ObjectDisposedException.ThrowIf(_model._disposed, _model);
                graph = OnnxExport.Graph(_model._model, _model.Shape, mlNetColumns: true);
            }
            var score = Schema[_source.Schema.Count];
            var predictedLabel = Schema[_source.Schema.Count + 1];
            OnnxContextWriter.Write(ctx, graph.Graph, new Dictionary<string, string>
            {
                [OnnxExport.FeaturesName] = features,
                [OnnxExport.ScoreName] = ctx.AddIntermediateVariable(score.Type, score.Name),
                [OnnxExport.PredictedLabelName] = ctx.AddIntermediateVariable(predictedLabel.Type, predictedLabel.Name),
            });
        }
    }
}
