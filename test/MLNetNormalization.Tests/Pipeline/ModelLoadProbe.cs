using System.Globalization;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetNormalization.Tests.Support;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>
/// Runs test/ModelLoadProbe, which loads saved models in a fresh process with no registration call, and reads what it
/// wrote; <see cref="Expected"/> computes the same in this process, so that the two compare as whole lists.
/// </summary>
internal static class ModelLoadProbe
{
    /// <summary>The probe's output file: its row lines and its metric lines.</summary>
    public sealed record Result(string[] Rows, string[] Metrics)
    {
        public static Result Read(string path)
        {
            var lines = File.ReadAllLines(path);
            return new Result([.. lines.Where(l => l.StartsWith("row ", StringComparison.Ordinal))],
                [.. lines.Where(l => !l.StartsWith("row ", StringComparison.Ordinal))]);
        }

        public bool Equals(Result? other) => other is not null && Rows.SequenceEqual(other.Rows) && Metrics.SequenceEqual(other.Metrics);

        public override int GetHashCode() => Rows.Length;

        public override string ToString() => string.Join("\n", Rows.Concat(Metrics));
    }

    /// <summary>What the probe must find: the scores, predicted class names (after MapKeyToValue) and metrics of <paramref name="model"/> on <paramref name="data"/>.</summary>
    public static Result Expected(MLContext ml, ITransformer model, IDataView data)
    {
        var scored = model.Transform(data);
        var metrics = ml.MulticlassClassification.Evaluate(scored);
        var rows = Columns.Vectors(scored).Zip(Columns.Texts(scored, "PredictedLabel"),
            (score, label) => $"{label} {string.Join(' ', score.Select(v => BitConverter.SingleToUInt32Bits(v).ToString("X8", CultureInfo.InvariantCulture)))}");
        return new Result(
            [.. rows.Select((row, i) => $"row {i} {row}")],
            [
                Metric("MicroAccuracy", metrics.MicroAccuracy), Metric("MacroAccuracy", metrics.MacroAccuracy), Metric("LogLoss", metrics.LogLoss),
                Metric("LogLossReduction", metrics.LogLossReduction), Metric("PerClassLogLoss", [.. metrics.PerClassLogLoss]),
                "confusion " + string.Join(' ', metrics.ConfusionMatrix.Counts.SelectMany(r => r).Select(c => c.ToString("R", CultureInfo.InvariantCulture))),
            ]);
    }

    private static string Metric(string name, params double[] values) =>
        $"metric {name} {string.Join(' ', values.Select(v => BitConverter.DoubleToInt64Bits(v).ToString("X16", CultureInfo.InvariantCulture)))}";

    /// <summary>Runs the probe with <paramref name="arguments"/> (see test/ModelLoadProbe/Program.cs) and asserts it succeeded.</summary>
    public static void Run(params string[] arguments)
    {
        var probe = typeof(ModelLoadProbe).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "ModelLoadProbe").Value!;
        var (code, output, error) = DotnetApp.Run(probe, arguments, TimeSpan.FromMinutes(2));
        Assert.True(code == 0, $"the probe failed (exit code {code}):\n{output}\n{error}");
    }
}
