using System.Runtime.InteropServices;
using Microsoft.ML.Model.OnnxConverter;
using Onnx;

namespace MLNetNormalization.Onnx;

/// <summary>
/// Copies a graph written by <see cref="OnnxGraph"/> into the model ML.NET's ONNX converter is writing
/// (<c>ml.Model.ConvertToOnnx</c>): its initializers and nodes, the graph's own value names prefixed with a name the
/// context makes unique, and the names in columns (the features, Score and PredictedLabel) mapped
/// to the context's variables of those columns.
/// </summary>
internal static class OnnxContextWriter
{
    public static void Write(OnnxContext context, GraphProto graph, IReadOnlyDictionary<string, string> columns)
    {
        var prefix = context.GetNodeName("ImageClassifierWithNorm") + "/";
        string Name(string name) => columns.TryGetValue(name, out var variable) ? variable : prefix + name;

        foreach (var initializer in graph.Initializer)
        {
            switch ((TensorProto.Types.DataType)initializer.DataType)
            {
                // ML.NET's tensor overload cannot size a rank-0 tensor; its scalar overload writes one.
                case TensorProto.Types.DataType.Float when initializer.Dims.Count == 0:
                    context.AddInitializer(MemoryMarshal.Cast<byte, float>(initializer.RawData.Span)[0], Name(initializer.Name), makeUniqueName: false);
                    break;
                case TensorProto.Types.DataType.Float:
                    context.AddInitializer(MemoryMarshal.Cast<byte, float>(initializer.RawData.Span).ToArray(), initializer.Dims, Name(initializer.Name), makeUniqueName: false);
                    break;
                case TensorProto.Types.DataType.Int64:
                    context.AddInitializer(initializer.Int64Data, initializer.Dims, Name(initializer.Name), makeUniqueName: false);
                    break;
                default:
                    throw new InvalidOperationException($"ONNX export: initializer {initializer.Name} of type {initializer.DataType} has no copy into ML.NET's converter.");
            }
        }
        foreach (var node in graph.Node)
        {
            var copy = context.CreateNode(node.OpType, node.Input.Select(Name), node.Output.Select(Name), prefix + node.Name, "");
            foreach (var attribute in node.Attribute)
            {
                switch (attribute.Type)
                {
                    case AttributeProto.Types.AttributeType.Int: copy.AddAttribute(attribute.Name, attribute.I); break;
                    case AttributeProto.Types.AttributeType.Ints: copy.AddAttribute(attribute.Name, (IEnumerable<long>)attribute.Ints); break;
                    // ML.NET writes a double attribute as ONNX's FLOAT.
                    case AttributeProto.Types.AttributeType.Float: copy.AddAttribute(attribute.Name, (double)attribute.F); break;
                    case AttributeProto.Types.AttributeType.String: copy.AddAttribute(attribute.Name, attribute.S.ToStringUtf8()); break;
                    default:
                        throw new InvalidOperationException($"ONNX export: attribute {attribute.Name} of {node.Name} ({attribute.Type}) has no copy into ML.NET's converter.");
                }
            }
        }
    }
}
