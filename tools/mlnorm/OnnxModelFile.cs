using System.Text.Json;
using Google.Protobuf;
using Microsoft.ML;
using Onnx;

namespace MLNetNormalization.Tools.Mlnorm;

/// <summary>
/// A model.onnx that mlnorm wrote (train, sweep, export): read back and checked before use, and scored through the same
/// image steps as model.zip (LoadImages, ResizeImages, ConvertToGrayscale unless RGB, ExtractPixels standardized) and
/// ML.NET's ApplyOnnxModel, without TorchSharp.
/// </summary>
internal sealed record OnnxModelFile(string Path, ImageShape Shape, IReadOnlyList<string> ClassNames)
{
    /// <summary>Reads <paramref name="path"/>; refuses a missing, damaged or foreign file with what to pass instead.</summary>
    /// <exception cref="UsageException">The file is missing, not ONNX, damaged, or not an image classifier mlnorm wrote.</exception>
    public static OnnxModelFile Read(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        const string fix = "pass the model.onnx that mlnorm train, sweep or export wrote";
        if (!File.Exists(full)) throw new UsageException($"--model {full} does not exist; {fix}.");
        if (new FileInfo(full).Length == 0) throw new UsageException($"--model {full} is empty; {fix}.");
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(full));
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new UsageException($"--model {full} is not an ONNX model (the protobuf reader says: {ModelPipeline.OneLine(e.Message)}); {fix}.");
        }
        var metadata = model.MetadataProps.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        if (model.Graph?.Input.SingleOrDefault()?.Name != OnnxExport.FeaturesName
            || !model.Graph.Output.Select(o => o.Name).SequenceEqual([OnnxExport.ScoreName, OnnxExport.PredictedLabelName])
            || !metadata.TryGetValue("class_names", out var names) || !metadata.TryGetValue("input_shape", out var shape) || !metadata.ContainsKey(OnnxExport.ChecksumKey))
            throw new UsageException($"--model {full} is an ONNX model, but not an image classifier mlnorm wrote (Features in; Score and PredictedLabel out; class names); {fix}.");
        if (!OnnxExport.IsIntact(model))
            throw new UsageException($"--model {full} is damaged: its content does not match the checksum written with it; export it again with mlnorm export, or {fix}.");
        var dimensions = JsonSerializer.Deserialize<int[]>(shape)!;
        return new(full, new(dimensions[0], dimensions[1], dimensions[2]), JsonSerializer.Deserialize<string[]>(names)!);
    }

    /// <summary>Image file (ImagePath) to Score and PredictedLabel (the class index) through ONNX Runtime.</summary>
    public ITransformer Pipeline(MLContext ml)
    {
        var steps = ModelPipeline.ImageSteps(ml, (Shape.Height, Shape.Width), rgb: Shape.Channels == 3)
            .Append(ml.Transforms.ApplyOnnxModel([OnnxExport.ScoreName, OnnxExport.PredictedLabelName], [OnnxExport.FeaturesName], Path));
        return steps.Fit(ml.Data.LoadFromEnumerable(new List<Dataset.ImageRow>()));
    }

    /// <summary>What predict reads from the ONNX model's output.</summary>
    internal sealed class Prediction
    {
        public float[] Score { get; set; } = [];

        public long[] PredictedLabel { get; set; } = [];
    }
}
