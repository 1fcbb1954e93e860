using System.Globalization;
using Google.Protobuf;
using Onnx;
using static TorchSharp.torch;

namespace MLNetNormalization.Onnx;

/// <summary>
/// An ONNX graph being written (OnnxSharp's generated protobuf types): nodes of the default domain in the order they are
/// added, float32 and int64 initializers, and names made unique from the module path they come from. Every method returns
/// the name of the value it defines, for the next node to take.
/// </summary>
internal sealed class OnnxGraph
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _int64Constants = new(StringComparer.Ordinal);

    public GraphProto Graph { get; } = new() { Name = "ImageClassifierWithNorm" };

    /// <summary>A name not used yet in the graph, <paramref name="hint"/> or it with a number.</summary>
    public string UniqueName(string hint)
    {
        if (_names.Add(hint)) return hint;
        for (var i = 1; ; i++)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"{hint}_{i}");
            if (_names.Add(name)) return name;
        }
    }

    /// <summary>Adds a node of <paramref name="opType"/> with one output named from <paramref name="name"/>; returns that output.</summary>
    public string Node(string opType, string name, IEnumerable<string> inputs, params (string Name, object Value)[] attributes) =>
        NodeTo(UniqueName(name + ":" + opType), opType, name, inputs, attributes);

    /// <summary>Adds a node whose output is named <paramref name="output"/> (a graph output's name).</summary>
    public string NodeTo(string output, string opType, string name, IEnumerable<string> inputs, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = UniqueName(name + "/" + opType) };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        foreach (var (attributeName, value) in attributes) node.Attribute.Add(Attribute(attributeName, value));
        Graph.Node.Add(node);
        return output;
    }

    /// <summary>Adds a node with one input.</summary>
    public string Node(string opType, string name, string input, params (string Name, object Value)[] attributes) =>
        Node(opType, name, [input], attributes);

    /// <summary>A float32 initializer of <paramref name="shape"/> holding <paramref name="values"/> (row-major).</summary>
    public string Floats(string name, ReadOnlySpan<float> values, params long[] shape)
    {
        var elements = shape.Aggregate(1L, (a, b) => a * b);
        if (elements != values.Length)
            throw new ArgumentException($"{name}: {values.Length} values do not fill the shape [{string.Join(", ", shape)}].", nameof(values));
        var initializer = new TensorProto { Name = UniqueName(name), DataType = (int)TensorProto.Types.DataType.Float };
        initializer.Dims.AddRange(shape);
        initializer.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));
        Graph.Initializer.Add(initializer);
        return initializer.Name;
    }

    /// <summary>A float32 initializer with a TorchSharp tensor's values, of <paramref name="shape"/> (its own shape when null).</summary>
    public string Floats(string name, Tensor tensor, params long[]? shape)
    {
        using var values = tensor.detach().to(ScalarType.Float32, CPU).contiguous();
        return Floats(name, values.data<float>().ToArray(), shape is { Length: > 0 } ? shape : tensor.shape);
    }

    /// <summary>A float32 scalar initializer (shape []).</summary>
    public string Scalar(string name, double value) => Floats(name, [(float)value]);

    /// <summary>An int64 initializer (shapes, axes, pads); equal values share one initializer.</summary>
    public string Int64s(string name, params long[] values)
    {
        var key = string.Join(",", values);
        if (_int64Constants.TryGetValue(key, out var existing)) return existing;
        var initializer = new TensorProto { Name = UniqueName(name), DataType = (int)TensorProto.Types.DataType.Int64 };
        initializer.Dims.Add(values.Length);
        initializer.Int64Data.AddRange(values);
        Graph.Initializer.Add(initializer);
        _int64Constants[key] = initializer.Name;
        return initializer.Name;
    }

    /// <summary>Declares a graph input or output: a float32 or int64 tensor with the given dimensions, a name for each dynamic one.</summary>
    public static ValueInfoProto Value(string name, TensorProto.Types.DataType type, params object[] dimensions)
    {
        var shape = new TensorShapeProto();
        foreach (var dimension in dimensions)
            shape.Dim.Add(dimension is string symbol
                ? new TensorShapeProto.Types.Dimension { DimParam = symbol }
                : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(dimension, CultureInfo.InvariantCulture) });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }

    private static AttributeProto Attribute(string name, object value) => value switch
    {
        long i => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = i },
        int i => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = i },
        float f => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = f },
        long[] ints => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints, Ints = { ints } },
        string s => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(s) },
        _ => throw new ArgumentException($"ONNX attribute '{name}': no encoding for {value.GetType().Name}.", nameof(value)),
    };
}
