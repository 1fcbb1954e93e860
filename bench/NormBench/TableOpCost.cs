using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetNormalization.Bench;

/// <summary>
/// What one libtorch op on a small float64 table costs when issued from .NET, the unit of a normalizer's statistics
/// algebra: plain (no autograd), and recorded by autograd with its share of the backward. At a small batch the tables are
/// [N, C] with N = batch, so the cost is per op, not per element.
/// </summary>
internal static class TableOpCost
{
    /// <summary>Multiplications per timed chain.</summary>
    public const int OpsPerChain = 200;

    /// <summary>Median microseconds per op over <paramref name="repeats"/> chains of 200 multiplications of a [rows, columns] float64 table.</summary>
    public static (double Plain, double Recorded) Measure(long rows, long columns, int repeats)
    {
        using var table = rand(rows, columns, ScalarType.Float64);
        var plain = new List<double>();
        var recorded = new List<double>();
        for (var r = 0; r < repeats + 1; r++)
        {
            var start = Stopwatch.GetTimestamp();
            using (NewDisposeScope())
            using (no_grad())
            {
                var value = table;
                for (var i = 0; i < OpsPerChain; i++) value = value * 1.0001;
            }
            var plainSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;

            start = Stopwatch.GetTimestamp();
            using (NewDisposeScope())
            {
                var leaf = table.clone().requires_grad_(true);
                var value = leaf;
                for (var i = 0; i < OpsPerChain; i++) value = value * 1.0001;
                value.sum().backward();
            }
            var recordedSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (r == 0) continue;   // the first chain warms libtorch's allocator and dispatch caches
            plain.Add(plainSeconds / OpsPerChain * 1e6);
            recorded.Add(recordedSeconds / OpsPerChain * 1e6);
        }
        return (Stats.Median(plain), Stats.Median(recorded));
    }
}
