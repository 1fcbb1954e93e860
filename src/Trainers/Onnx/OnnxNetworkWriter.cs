using System.Globalization;
using MLNetNormalization.Backbones;
using MLNetNormalization.Normalization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetNormalization.Onnx;

/// <summary>
/// A module of a network that writes its own evaluation-mode forward as ONNX nodes: the backbones whose forward is code
/// rather than a <see cref="Sequential"/> (residual additions, functional pools) implement it next to their forward.
/// </summary>
internal interface IOnnxExportable
{
    /// <summary>Writes the module's forward on <paramref name="input"/> into <paramref name="writer"/>; returns its output's name.</summary>
    string WriteOnnx(OnnxNetworkWriter writer, string input);
}

/// <summary>
/// Writes a TorchSharp network in evaluation mode as ONNX nodes, module by module: the modules it knows are
/// <see cref="Sequential"/>, <see cref="ConvNorm"/> (its normalizer folded into the convolution where it is a fixed
/// per-channel affine), <see cref="Conv2d"/>, <see cref="Linear"/>, <see cref="ReLU"/>, <see cref="MaxPool2d"/>,
/// <see cref="AvgPool2d"/>, <see cref="AdaptiveAvgPool2d"/> to 1x1, <see cref="Flatten"/>, <see cref="Dropout"/>,
/// <see cref="Identity"/>, <see cref="BatchNorm2d"/>, every <see cref="NormalizationLayer"/> (NormalizerOnnx.cs), and
/// the <see cref="IOnnxExportable"/> backbones. Any other module is refused by its path in the network.
/// </summary>
internal sealed class OnnxNetworkWriter(OnnxGraph graph)
{
    private readonly Stack<string> _path = new();

    public OnnxGraph Graph { get; } = graph;

    /// <summary>The dotted path of the module being written ("stages.0.conv1"), for names and messages.</summary>
    public string Path => _path.Count == 0 ? "network" : string.Join(".", _path.Reverse());

    /// <summary>Writes <paramref name="module"/>, the child <paramref name="name"/> of the module being written, on <paramref name="input"/>.</summary>
    public string Child(string name, nn.Module module, string input) => At(name, () => Write(module, input));

    // Writes at the path of the child "name" of the module being written.
    private string At(string name, Func<string> write)
    {
        _path.Push(name);
        try
        {
            return write();
        }
        finally
        {
            _path.Pop();
        }
    }

    /// <summary>Writes <paramref name="module"/> at the current path.</summary>
    /// <exception cref="NotSupportedException">A module in training mode, or one this writer does not know (the message names it).</exception>
    public string Write(nn.Module module, string input)
    {
        if (module.training)
            throw new NotSupportedException(
                $"ONNX export: {Path} ({module.GetType().Name}) is in training mode, where it would normalize with each batch's statistics; " +
                "export the model in evaluation mode (call eval() on it first).");
        switch (module)
        {
            case IOnnxExportable exportable:
                return exportable.WriteOnnx(this, input);
            case Sequential sequential:
                foreach (var (name, child) in sequential.named_children()) input = Child(name, child, input);
                return input;
            case ConvNorm unit:
                return ConvNormalized(unit, input);
            case Conv2d conv:
                return Convolution(conv, conv.weight, conv.bias, input);
            case Linear linear:
                return Graph.Node("Gemm", Path, [input, Graph.Floats(Path + ".weight", linear.weight), .. linear.bias is null ? Array.Empty<string>() : [Graph.Floats(Path + ".bias", linear.bias)]],
                                  ("transB", 1L));
            case ReLU:
                return Relu(input);
            case MaxPool2d pool:
                return MaxPool(input, pool.kernel_size, pool.stride, pool.padding, pool.ceil_mode, pool.dilation);
            case AvgPool2d pool when pool.divisor_override is null:
                return AveragePool(input, pool.kernel_size, pool.stride, pool.padding, pool.ceil_mode, pool.count_include_pad);
            case AdaptiveAvgPool2d pool when pool.output_size.All(size => size == 1):
                return GlobalAveragePool(input);
            case Flatten flatten when flatten.start_dim == 1 && flatten.end_dim == -1:
                return Flatten(input);
            case Dropout or Identity:
                return input;
            case BatchNorm2d or NormalizationLayer:
                return Normalizer((nn.Module<Tensor, Tensor>)module, input);
            default:
                throw new NotSupportedException(
                    $"ONNX export: {Path} is a {module.GetType().Name}, which the exporter does not know. It writes nn.Sequential, ConvNorm, Conv2d, Linear, " +
                    "ReLU, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1), Flatten(1), Dropout, Identity, BatchNorm2d, the normalization layers and the built-in " +
                    "backbones; build the network of these (a module with a forward of its own cannot be read), or score it with the TorchSharp transformer.");
        }
    }

    public string Relu(string input) => Graph.Node("Relu", Path, input);

    public string GlobalAveragePool(string input) => Graph.Node("GlobalAveragePool", Path, input);

    public string Flatten(string input) => Graph.Node("Flatten", Path, input, ("axis", 1L));

    public string MaxPool(string input, long[] kernel, long[]? stride, long[]? padding, bool ceilMode, long[]? dilation = null) =>
        Graph.Node("MaxPool", Path, input, ("kernel_shape", Pair(kernel)), ("strides", Pair(stride ?? kernel)), ("pads", Pads(padding)),
                   ("dilations", Pair(dilation ?? [1])), ("ceil_mode", ceilMode ? 1L : 0L));

    /// <summary>
    /// AveragePool as PyTorch's avg_pool2d: with padding 0 no window holds padding, and a window that ceil mode lets hang
    /// over the edge is divided by its pixels inside; count_include_pad 0 is that division in ONNX Runtime.
    /// </summary>
    public string AveragePool(string input, long[] kernel, long[]? stride, long[]? padding, bool ceilMode, bool countIncludePad)
    {
        var padded = padding is not null && padding.Any(p => p != 0);
        if (padded && countIncludePad && ceilMode)
            throw new NotSupportedException(
                $"ONNX export: {Path} averages with padding counted and ceil mode, whose windows over the edge ONNX Runtime divides differently from libtorch; " +
                "use count_include_pad: false or ceil_mode: false.");
        return Graph.Node("AveragePool", Path, input, ("kernel_shape", Pair(kernel)), ("strides", Pair(stride ?? kernel)), ("pads", Pads(padding)),
                          ("ceil_mode", ceilMode ? 1L : 0L), ("count_include_pad", padded && countIncludePad ? 1L : 0L));
    }

    /// <summary>
    /// A residual shortcut of option A: every <paramref name="stride"/>-th pixel from the first, and
    /// <paramref name="extraChannels"/> zero channels before and after the input's.
    /// </summary>
    public string ZeroPaddingShortcut(string input, long stride, long extraChannels)
    {
        var subsampled = Graph.Node("Slice", Path + ".shortcut", [input, Graph.Int64s("shortcut.starts", 0, 0), Graph.Int64s("shortcut.ends", long.MaxValue, long.MaxValue),
                                                                   Graph.Int64s("shortcut.axes", 2, 3), Graph.Int64s("shortcut.steps", stride, stride)]);
        return Graph.Node("Pad", Path + ".shortcut", [subsampled, Graph.Int64s("shortcut.pads", 0, extraChannels, 0, 0, 0, extraChannels, 0, 0)]);
    }

    /// <summary>The sum of two values of the same shape.</summary>
    public string Add(string a, string b) => Graph.Node("Add", Path, [a, b]);

    // A convolution, then its normalizer; folded into one convolution where the normalizer is a fixed affine.
    private string ConvNormalized(ConvNorm unit, string input)
    {
        if (unit.TryFoldedParameters(out var weight, out var bias, out _))
        {
            using (weight)
            using (bias)
                return At("conv", () => Convolution(unit.Conv, weight, bias, input));
        }
        return Child("norm", unit.Norm, Child("conv", unit.Conv, input));
    }

    private string Convolution(Conv2d conv, Tensor weight, Tensor? bias, string input)
    {
        if (conv.padding_mode != PaddingModes.Zeros)
            throw new NotSupportedException($"ONNX export: {Path} pads with {conv.padding_mode}; the exporter writes zero padding only.");
        if (conv.padding_type is not null && conv.padding_type != Padding.Valid)
            throw new NotSupportedException($"ONNX export: {Path} uses padding {conv.padding_type}; give the padding in pixels.");
        var inputs = new List<string> { input, Graph.Floats(Path + ".weight", weight) };
        if (bias is not null) inputs.Add(Graph.Floats(Path + ".bias", bias));
        return Graph.Node("Conv", Path, inputs, ("kernel_shape", Pair(conv.kernel_size)), ("strides", Pair(conv.stride)),
                          ("pads", Pads(conv.padding_type == Padding.Valid ? [0] : conv.padding)), ("dilations", Pair(conv.dilation)), ("group", conv.groups));
    }

    private string Normalizer(nn.Module<Tensor, Tensor> norm, string input)
    {
        if (ConvNorm.TryGetInferenceAffine(norm, out var scale, out var shift, out var whyNot))
        {
            using (scale)
            using (shift)
            {
                var channels = scale.shape[0];
                return Graph.Node("Add", Path, [Graph.Node("Mul", Path, [input, Graph.Floats(Path + ".scale", scale, channels, 1, 1)]),
                                                Graph.Floats(Path + ".shift", shift, channels, 1, 1)]);
            }
        }
        if (norm is NormalizationLayer layer) return NormalizerOnnx.Write(this, layer, input);
        throw new NotSupportedException($"ONNX export: {Path}: {whyNot}");
    }

    // Two spatial dimensions from PyTorch's one-or-two values.
    private static long[] Pair(long[] values) => values.Length == 1 ? [values[0], values[0]] : values;

    // ONNX pads: begin of H and W, then end of H and W.
    private static long[] Pads(long[]? padding)
    {
        var (h, w) = padding is null or { Length: 0 } ? (0L, 0L) : padding.Length == 1 ? (padding[0], padding[0]) : (padding[0], padding[1]);
        return [h, w, h, w];
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"ONNX writer at {Path}");
}
