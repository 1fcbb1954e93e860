namespace MLNetNormalization.Tests.Support;

/// <summary>
/// Compares libtorch's autograd gradients with float64 central differences, (f(x + h) - f(x - h)) / 2h,
/// element by element for every input.
/// </summary>
internal static class GradientChecker
{
    public const double Step = 1e-6;

    /// <summary>
    /// Asserts that the gradient of the scalar <paramref name="function"/> at <paramref name="inputs"/>
    /// (float64 tensors) matches central differences within absolute + relative·|numeric|, and that each
    /// input's numeric gradient is not negligible (a check against zero would prove nothing).
    /// </summary>
    public static void AssertGradientsMatch(Func<Tensor[], Tensor> function, IReadOnlyList<Tensor> inputs,
                                            double relative = 1e-5, double absolute = 1e-6)
    {
        using var scope = NewDisposeScope();
        foreach (var input in inputs) Assert.Equal(ScalarType.Float64, input.dtype);

        var shapes = inputs.Select(x => x.shape).ToArray();
        var values = inputs.Select(x => x.data<double>().ToArray()).ToArray();
        var analytic = AutogradGradients(function, values, shapes);

        for (var i = 0; i < values.Length; i++)
        {
            var numeric = new double[values[i].Length];
            for (var j = 0; j < numeric.Length; j++)
            {
                var original = values[i][j];
                values[i][j] = original + Step;
                var plus = Evaluate(function, values, shapes);
                values[i][j] = original - Step;
                var minus = Evaluate(function, values, shapes);
                values[i][j] = original;
                numeric[j] = (plus - minus) / (2 * Step);
            }
            Assert.True(numeric.Max(v => Math.Abs(v)) > 1e-3, $"input {i}: the numeric gradient is ~0 everywhere, so the check would prove nothing.");
            Expect.Close(numeric, analytic[i], absolute, relative, $"input {i} gradient element");
        }
    }

    private static double[][] AutogradGradients(Func<Tensor[], Tensor> function, double[][] values, long[][] shapes)
    {
        using var scope = NewDisposeScope();
        var leaves = values.Select((v, i) => TestData.Float64(v, shapes[i])).ToArray();
        foreach (var leaf in leaves) leaf.requires_grad = true;
        var output = function(leaves);
        Assert.Equal(1, output.numel());
        output.backward();
        return leaves.Select((leaf, i) => leaf.grad?.data<double>().ToArray() ?? new double[values[i].Length]).ToArray();
    }

    private static double Evaluate(Func<Tensor[], Tensor> function, double[][] values, long[][] shapes)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tensors = values.Select((v, i) => TestData.Float64(v, shapes[i])).ToArray();
        return function(tensors).item<double>();
    }

    /// <summary>
    /// Σ output·w with fixed pseudo-random weights w: a scalar whose gradient exercises every output
    /// element differently (a plain sum would be blind to, say, a normalization's input gradient, which sums to zero).
    /// </summary>
    public static Tensor WeightedSum(Tensor output, int seed = 12345)
    {
        var weights = TestData.Float64(TestData.Uniform(seed, checked((int)output.numel()), -1, 1), output.shape);
        return (output * weights).sum();
    }
}
