using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using MLNetNormalization.Onnx;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetNormalization;

/// <summary>
/// Writes a trained classifier as an ONNX model (opset <see cref="OpsetVersion"/>), which ONNX Runtime, and ML.NET's
/// <c>ApplyOnnxModel</c>, score without TorchSharp or libtorch. The graph takes <see cref="FeaturesName"/>, float32
/// [N, C, H, W] (the images as the network takes them: what the features column holds, or for encoded images the decoded,
/// resized pixels / 255) and gives <see cref="ScoreName"/>, the softmax class probabilities float32 [N, classes], and
/// <see cref="PredictedLabelName"/>, the most probable class's zero-based index int64 [N] (class k is
/// <c>ClassNames[k]</c>, also written in the model's metadata "class_names" as a JSON array; "model_sha256" seals the rest). Normalizers that are a
/// fixed per-channel affine at inference (BN, ghost BN, EN, HN of batch sets, any layer at alpha 0 with running
/// statistics) are folded into the convolution before them; the others are written as their computation on each
/// example's statistics.
/// </summary>
public static class OnnxExport
{
    /// <summary>
    /// The ONNX operator set the graphs use: 12, the newest ML.NET's ONNX converter writes, so that one graph serves
    /// <see cref="Save"/> and <c>ml.Model.ConvertToOnnx</c> alike; every ONNX Runtime since 1.3 runs it.
    /// </summary>
    public const int OpsetVersion = 12;

    /// <summary>The graph's input: the images, float32 [N, C, H, W].</summary>
    public const string FeaturesName = "Features";

    /// <summary>The graph's class probabilities, float32 [N, classes].</summary>
    public const string ScoreName = "Score";

    /// <summary>The graph's predicted class index, int64 [N].</summary>
    public const string PredictedLabelName = "PredictedLabel";

    /// <summary>
    /// Writes <paramref name="network"/>, a TorchSharp module in evaluation mode mapping [N, C, H, W] images of
    /// <paramref name="input"/>'s shape to [N, classes] logits, as an ONNX model to <paramref name="destination"/>.
    /// The network must be built of modules the exporter knows: nn.Sequential, ConvNorm, Conv2d, Linear, ReLU, MaxPool2d,
    /// AvgPool2d, AdaptiveAvgPool2d to 1x1, Flatten from dimension 1, Dropout, Identity, BatchNorm2d, the normalization
    /// layers, and the built-in backbones. <paramref name="classNames"/> (optional) go into the metadata.
    /// </summary>
    /// <exception cref="NotSupportedException">
    /// A module in training mode, or one the exporter does not know; the message names it by its path in the network.
    /// </exception>
    public static void Save(nn.Module<Tensor, Tensor> network, ImageShape input, Stream destination, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(destination);
        Build(network, input, classNames, null).WriteTo(destination);
    }

    /// <summary>
    /// The nodes from <see cref="FeaturesName"/> to <see cref="ScoreName"/> and <see cref="PredictedLabelName"/>. With
    /// <paramref name="mlNetColumns"/>, in the form of ML.NET's columns: the features a vector [N, C·H·W] reshaped here, and
    /// the predicted label a key, uint32 [N, 1] holding the class index + 1 (key 0 is ML.NET's missing value); else the
    /// features [N, C, H, W] and the index int64 [N].
    /// </summary>
    internal static OnnxGraph Graph(nn.Module<Tensor, Tensor> network, ImageShape input, bool mlNetColumns)
    {
        using var noGrad = no_grad();
        var graph = new OnnxGraph();
        foreach (var name in new[] { FeaturesName, ScoreName, PredictedLabelName }) graph.UniqueName(name);
        var images = mlNetColumns ? graph.Node("Reshape", "input", [FeaturesName, graph.Int64s("input.shape", -1, input.Channels, input.Height, input.Width)]) : FeaturesName;
        var logits = new OnnxNetworkWriter(graph).Write(network, images);
        graph.NodeTo(ScoreName, "Softmax", "output", [logits], ("axis", 1L));
        if (!mlNetColumns)
        {
            graph.NodeTo(PredictedLabelName, "ArgMax", "output", [ScoreName], ("axis", 1L), ("keepdims", 0L));
            return graph;
        }
        var index = graph.Node("ArgMax", "output", [ScoreName], ("axis", 1L), ("keepdims", 1L));
        var key = graph.Node("Add", "output", [index, graph.Int64s("output.one", 1)]);
        graph.NodeTo(PredictedLabelName, "Cast", "output", [key], ("to", (long)TensorProto.Types.DataType.Uint32));
        return graph;
    }

    /// <summary>The ONNX model of <paramref name="network"/>, with <paramref name="properties"/> added to its metadata.</summary>
    internal static ModelProto Build(nn.Module<Tensor, Tensor> network, ImageShape input, IReadOnlyList<string>? classNames,
                                     IReadOnlyDictionary<string, string>? properties)
    {
        var graph = Graph(network, input, mlNetColumns: false);
        graph.Graph.Input.Add(OnnxGraph.Value(FeaturesName, TensorProto.Types.DataType.Float, "N", input.Channels, input.Height, input.Width));
        var classes = classNames?.Count is > 0 ? (object)classNames.Count : "classes";
        graph.Graph.Output.Add(OnnxGraph.Value(ScoreName, TensorProto.Types.DataType.Float, "N", classes));
        graph.Graph.Output.Add(OnnxGraph.Value(PredictedLabelName, TensorProto.Types.DataType.Int64, "N"));

        var model = new ModelProto
        {
            IrVersion = 7,
            ProducerName = "MLNetNormalization",
            ProducerVersion = typeof(OnnxExport).Assembly.GetName().Version?.ToString() ?? "",
            Graph = graph.Graph,
            DocString = "An image classifier trained with ImageClassifierWithNorm: Features [N, C, H, W] float32 to Score [N, classes] and PredictedLabel [N].",
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        if (classNames is not null) model.MetadataProps.Add(new StringStringEntryProto { Key = "class_names", Value = JsonSerializer.Serialize(classNames) });
        model.MetadataProps.Add(new StringStringEntryProto
        {
            Key = "input_shape",
            Value = string.Create(CultureInfo.InvariantCulture, $"[{input.Channels}, {input.Height}, {input.Width}]"),
        });
        foreach (var (key, value) in properties ?? new Dictionary<string, string>()) model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        model.MetadataProps.Add(new StringStringEntryProto { Key = ChecksumKey, Value = Checksum(model) });
        return model;
    }

    /// <summary>
    /// The metadata entry that holds the SHA-256 of the model's protobuf encoding without that entry (graph, weights,
    /// opset and every other metadata entry, class names included), which a damaged file does not match.
    /// </summary>
    internal const string ChecksumKey = "model_sha256";

    /// <summary>
    /// False when <paramref name="model"/> is not the one it was written with: its encoding without the checksum entry
    /// does not hash to the checksum (protobuf encodes a parsed message again byte for byte). True without a checksum.
    /// </summary>
    internal static bool IsIntact(ModelProto model) =>
        model.MetadataProps.FirstOrDefault(p => p.Key == ChecksumKey)?.Value is not { } recorded || recorded == Checksum(model);

    private static string Checksum(ModelProto model)
    {
        var unsealed = model.Clone();
        foreach (var entry in unsealed.MetadataProps.Where(p => p.Key == ChecksumKey).ToList()) unsealed.MetadataProps.Remove(entry);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(unsealed.ToByteArray()));
    }
}
