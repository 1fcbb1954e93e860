using System.CommandLine;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetNormalization.Tools.Mlnorm;

/// <summary>`mlnorm export`: a saved model.zip's classifier as an ONNX model, and the model.onnx that train and sweep write.</summary>
public static partial class Cli
{
    /// <summary>The ONNX model train and sweep write beside model.zip.</summary>
    internal const string OnnxModelName = "model.onnx";

    private static Command ExportCommand(RunContext context)
    {
        var model = new Option<string>("--model") { Description = "model.zip written by mlnorm train or sweep", Required = true };
        var onnx = new Option<string>("--onnx") { Description = "The ONNX model file to write (replaced once complete)", Required = true };
        var command = new Command("export",
            $"Write a model.zip's classifier as an ONNX model (opset {OnnxExport.OpsetVersion}) that ONNX Runtime and ML.NET's ApplyOnnxModel score without TorchSharp")
        {
            model, onnx,
        };
        command.SetAction((result, token) => Task.FromResult(Guard(context, token, _ =>
        {
            var ml = new MLContext(1);
            var target = Path.GetFullPath(result.GetValue(onnx)!);
            if (!target.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
                throw new UsageException($"--onnx {target} must name a .onnx file, such as model.onnx.");
            if (Path.GetDirectoryName(target) is { } folder && !Directory.Exists(folder))
                throw new UsageException($"--onnx {target}: the folder {folder} does not exist; create it or write the file elsewhere.");
            if (Directory.Exists(target))
                throw new UsageException($"--onnx {target} is a folder; name the file to write, such as {Path.Combine(target, OnnxModelName)}.");
            var modelPath = result.GetValue(model)!;
            if (modelPath.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
                throw new UsageException($"--model {Path.GetFullPath(modelPath)} is an ONNX model already; export takes the model.zip that mlnorm train or sweep wrote.");
            var chain = LoadModel(ml, modelPath);
            WriteOnnx(chain, target);
            var classifier = ModelPipeline.ClassifierOf(chain);
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {target} ({new FileInfo(target).Length / 1e6:F1} MB, opset {OnnxExport.OpsetVersion}): {OnnxExport.FeaturesName} [N, {classifier.Shape.Channels}, {classifier.Shape.Height}, {classifier.Shape.Width}] " +
                $"(pixels standardized as for model.zip) to {OnnxExport.ScoreName} [N, {classifier.ClassCount}] and {OnnxExport.PredictedLabelName} [N]"));
            return Success;
        })));
        return command;
    }

    /// <summary>Writes the classifier of a model mlnorm made as an ONNX model to <paramref name="path"/>.</summary>
    /// <exception cref="UsageException">A layer the exporter cannot write (a model of a backbone of one's own).</exception>
    internal static void WriteOnnx(TransformerChain<ITransformer> chain, string path)
    {
        try
        {
            ModelPipeline.ClassifierOf(chain).ExportToOnnx(path);
        }
        catch (NotSupportedException e)
        {
            throw new UsageException(e.Message);
        }
    }
}
