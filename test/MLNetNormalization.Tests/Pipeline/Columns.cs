using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>Reads a whole column of a view with a plain cursor, as any ML.NET consumer does.</summary>
internal static class Columns
{
    public static List<float[]> Vectors(IDataView view, string name = "Score") =>
        Read<VBuffer<float>, float[]>(view, name, (in VBuffer<float> v) => v.DenseValues().ToArray());

    public static List<uint> Keys(IDataView view, string name) => Read<uint, uint>(view, name, (in uint v) => v);

    public static List<string> Texts(IDataView view, string name) =>
        Read<ReadOnlyMemory<char>, string>(view, name, (in ReadOnlyMemory<char> v) => v.ToString());

    public static List<float> Singles(IDataView view, string name) => Read<float, float>(view, name, (in float v) => v);

    /// <summary>Every float's bit pattern, for comparisons that must be exact (and tell -0 from 0).</summary>
    public static uint[] Bits(IEnumerable<float[]> vectors) => [.. vectors.SelectMany(v => v).Select(BitConverter.SingleToUInt32Bits)];

    private delegate TResult Convert<TValue, TResult>(in TValue value);

    private static List<TResult> Read<TValue, TResult>(IDataView view, string name, Convert<TValue, TResult> convert)
    {
        var column = view.Schema[name];
        using var cursor = view.GetRowCursor([column]);
        var get = cursor.GetGetter<TValue>(column);
        var values = new List<TResult>();
        TValue value = default!;
        while (cursor.MoveNext())
        {
            get(ref value);
            values.Add(convert(value));
        }
        return values;
    }
}

/// <summary>
/// ML.NET members a test needs that ML.NET keeps internal, called by reflection on the real ML.NET (ML.NET's own
/// code calls them: EstimatorChain.Fit makes a SchemaShape of its input this way; tools with access cancel a context).
/// </summary>
internal static class MLNetInternals
{
    /// <summary>The shape of <paramref name="schema"/>, as EstimatorChain.Fit passes it to GetOutputSchema (SchemaShape.Create is internal).</summary>
    public static SchemaShape ShapeOf(DataViewSchema schema) =>
        (SchemaShape)typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static, [typeof(DataViewSchema)])!
            .Invoke(null, [schema])!;

    /// <summary>MLContext.CancelExecution, internal in ML.NET (ICancelable is internal too).</summary>
    public static void CancelExecution(MLContext context) =>
        typeof(MLContext).GetMethod("CancelExecution", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance, Type.EmptyTypes)!
            .Invoke(context, null);

    public static SchemaShape.Column Column(this SchemaShape shape, string name) => shape.Single(c => c.Name == name);

    public static bool HasColumn(this SchemaShape shape, string name) => shape.Any(c => c.Name == name);
}
