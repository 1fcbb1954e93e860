namespace MLNetNormalization.Tests.Support;

/// <summary>Seeded test data and conversions between C# arrays and tensors.</summary>
internal static class TestData
{
    /// <summary><paramref name="count"/> values uniform in [low, high) from a seeded System.Random (independent of libtorch).</summary>
    public static double[] Uniform(int seed, int count, double low = -1, double high = 1)
    {
        var random = new Random(seed);
        var values = new double[count];
        for (var i = 0; i < count; i++) values[i] = low + (high - low) * random.NextDouble();
        return values;
    }

    /// <summary>The values rounded to float32, so a float64 oracle sees exactly what a float32 tensor holds.</summary>
    public static double[] RoundToFloat32(double[] values) => values.Select(v => (double)(float)v).ToArray();

    public static Tensor Float64(double[] values, params long[] shape) => tensor(values, shape);

    public static Tensor Float32(double[] values, params long[] shape) => tensor(values.Select(v => (float)v).ToArray(), shape);

    public static Tensor Int64(long[] values, params long[] shape) => tensor(values, shape);

    /// <summary>Any floating tensor's elements as float64, row-major (a copy made by libtorch's conversion).</summary>
    public static double[] Values(Tensor tensor)
    {
        using var scope = NewDisposeScope();
        return tensor.to(ScalarType.Float64).cpu().data<double>().ToArray();
    }

    /// <summary>The population standard deviation, sqrt(mean((v - mean)²)), in float64.</summary>
    public static double StandardDeviation(IReadOnlyCollection<double> values)
    {
        var mean = values.Average();
        return Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
    }

    /// <summary>The raw bytes of a tensor's elements, for bit-exact comparisons.</summary>
    public static byte[] RawBytes(Tensor tensor) => tensor.contiguous().cpu().bytes.ToArray();
}

/// <summary>Numeric assertions with an explicit tolerance: |actual - expected| &lt;= absolute + relative·|expected|.</summary>
internal static class Expect
{
    public static void Close(IReadOnlyList<double> expected, IReadOnlyList<double> actual, double absolute, double relative = 0, string what = "element")
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            if (actual[i] == expected[i]) continue;   // covers equal infinities
            var tolerance = absolute + relative * Math.Abs(expected[i]);
            // Written so that NaN fails.
            if (!(Math.Abs(actual[i] - expected[i]) <= tolerance))
                Assert.Fail($"{what} {i}: expected {expected[i]:R}, got {actual[i]:R} (difference {Math.Abs(actual[i] - expected[i]):E3}, tolerance {tolerance:E3}).");
        }
    }

    /// <summary>The array form of the list comparison (a double[] also converts to a Tensor, which would make the call ambiguous).</summary>
    public static void Close(IReadOnlyList<double> expected, double[] actual, double absolute, double relative = 0, string what = "element") =>
        Close(expected, (IReadOnlyList<double>)actual, absolute, relative, what);

    /// <summary>Compares a tensor's values (any floating type) with float64 expectations, and its shape when given.</summary>
    public static void Close(IReadOnlyList<double> expected, Tensor actual, double absolute, double relative = 0, long[]? shape = null)
    {
        if (shape is not null) Assert.Equal(shape, actual.shape);
        Close(expected, TestData.Values(actual), absolute, relative);
    }

    public static void Close(double expected, double actual, double absolute, double relative = 0) =>
        Close(new[] { expected }, new[] { actual }, absolute, relative, "value");
}

/// <summary>A fresh directory under the system temp folder, deleted with everything in it on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mlnorm-tests-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

internal static class NativeMemory
{
    /// <summary>
    /// Finalizes every unreachable tensor left by earlier tests, so that the process's native memory changes
    /// afterwards only through what the calling test does.
    /// </summary>
    public static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}
