using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Support;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>
/// Helpers shared by the normalization layer tests: seeded data, float64 layers, non-trivial affine
/// parameters, a few training steps, and tensor comparisons with a readable failure message.
/// </summary>
internal static class NormalizationTestSupport
{
    /// <summary>N(0, 1)·scale + offset, plus a different offset per channel (so channel statistics differ), from a seeded generator.</summary>
    public static Tensor RandomInput(Generator generator, long[] shape, double scale = 1, double offset = 0,
                              ScalarType type = ScalarType.Float64, double channelSpread = 0.5)
    {
        var channelOffsets = arange(0, shape[1]).to(type).mul(channelSpread).view(1, shape[1], 1, 1);
        return randn(shape, type, generator: generator).mul(scale).add(offset).add(channelOffsets);
    }

    /// <summary>Converts the layer's parameters and buffers to float64 and returns it, for float64 oracles and gradchecks.</summary>
    public static T InFloat64<T>(T layer) where T : nn.Module
    {
        layer.to(ScalarType.Float64);
        return layer;
    }

    /// <summary>gamma ≈ 1 + 0.5·N(0,1), beta ≈ 0.5·N(0,1), so that an error in the affine shows.</summary>
    public static T WithRandomAffine<T>(T layer, Generator generator) where T : NormalizationLayer
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        layer.Weight.copy_(randn([layer.Channels], ScalarType.Float64, generator: generator).mul(0.5).add(1));
        layer.Bias.copy_(randn([layer.Channels], ScalarType.Float64, generator: generator).mul(0.5));
        return layer;
    }

    /// <summary>Runs <paramref name="steps"/> training forwards (no backward) on fresh seeded batches, which moves the running statistics.</summary>
    public static void TrainSteps(NormalizationLayer layer, Generator generator, long[] shape, int steps = 3,
                                  double scale = 2, double offset = 1)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        layer.train();
        var type = layer.Weight.dtype;
        for (var i = 0; i < steps; i++) layer.forward(RandomInput(generator, shape, scale, offset + i, type));
    }

    /// <summary>Asserts equal shapes and |actual - expected| &lt;= absolute + relative·|expected| element-wise.</summary>
    public static void AssertClose(Tensor expected, Tensor actual, double absolute, double relative = 0)
    {
        Assert.Equal(expected.shape, actual.shape);
        Expect.Close(TestData.Values(expected), TestData.Values(actual), absolute, relative);
    }

    /// <summary>Asserts bit-identical tensors (same type, shape and bytes).</summary>
    public static void AssertIdentical(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.dtype, actual.dtype);
        Assert.Equal(expected.shape, actual.shape);
        Assert.Equal(TestData.RawBytes(expected), TestData.RawBytes(actual));
    }

    /// <summary>A leaf copy of <paramref name="tensor"/> that requires grad.</summary>
    public static Tensor Leaf(Tensor tensor)
    {
        var leaf = tensor.detach().clone();
        leaf.requires_grad = true;
        return leaf;
    }

    /// <summary>
    /// Runs the layer and an oracle (a libtorch kernel given the input, gamma and beta) on the same input
    /// and copies of gamma and beta, back-propagates the same weighted sum through both, and compares the
    /// outputs, the input gradients and the gamma and beta gradients. The layer's parameters must have no
    /// gradient yet (a fresh layer).
    /// </summary>
    public static void AssertMatchesOracle(NormalizationLayer layer, Tensor input, Func<Tensor, Tensor, Tensor, Tensor> oracle,
                                           double absolute, double relative, ulong seed = 7)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(seed);
        Assert.Null(layer.Weight.grad);
        var x = Leaf(input);
        var oracleX = Leaf(input);
        var gamma = Leaf(layer.Weight);
        var beta = Leaf(layer.Bias);
        var y = layer.forward(x);
        var expected = oracle(oracleX, gamma, beta);
        AssertClose(expected, y, absolute, relative);
        var weights = randn(y.shape, y.dtype, generator: generator);
        y.mul(weights).sum().backward();
        expected.mul(weights).sum().backward();
        AssertClose(oracleX.grad!, x.grad!, absolute, relative);
        AssertClose(gamma.grad!, layer.Weight.grad!, absolute, relative);
        AssertClose(beta.grad!, layer.Bias.grad!, absolute, relative);
    }

    /// <summary>A buffer of the layer by name ("running_mean", "std_set_running_var", ...).</summary>
    public static Tensor Buffer(nn.Module layer, string name) => layer.named_buffers().Single(b => b.name == name).buffer;

    /// <summary>Sets a parameter or buffer to <paramref name="values"/> (row-major) in place, outside autograd.</summary>
    public static void Assign(Tensor target, params double[] values)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        target.copy_(TestData.Float64(values, target.shape));
    }

    /// <summary>
    /// Gradcheck of a float64 layer in its current mode: the autograd gradients of Σ y·w (w fixed, see
    /// <see cref="GradientChecker.WeightedSum"/>) with respect to the input and the named parameters
    /// against central differences, each element perturbed in place. A training forward may move running
    /// statistics; the training output does not depend on them.
    /// </summary>
    public static void AssertLayerGradientsMatch(nn.Module<Tensor, Tensor> layer, Tensor input, string[] parameterNames,
                                                 double relative = 1e-5, double absolute = 1e-6)
    {
        using var scope = NewDisposeScope();
        Assert.Equal(ScalarType.Float64, input.dtype);
        var parameters = parameterNames.Select(name => layer.named_parameters().Single(p => p.name == name).parameter).ToArray();
        foreach (var parameter in parameters) Assert.Equal(ScalarType.Float64, parameter.dtype);

        layer.zero_grad();
        var x = Leaf(input);
        GradientChecker.WeightedSum(layer.forward(x)).backward();
        var analytic = new[] { x.grad! }.Concat(parameters.Select(p => p.grad ?? zeros(p.shape, ScalarType.Float64)))
            .Select(TestData.Values).ToArray();

        var perturbed = new[] { input.detach().clone() }.Concat<Tensor>(parameters).ToArray();
        var names = new[] { "input" }.Concat(parameterNames).ToArray();
        double Evaluate()
        {
            using var evaluationScope = NewDisposeScope();
            using var noGrad = no_grad();
            return GradientChecker.WeightedSum(layer.forward(perturbed[0])).item<double>();
        }
        for (var i = 0; i < perturbed.Length; i++)
        {
            var values = TestData.Values(perturbed[i]);
            var numeric = new double[values.Length];
            for (var j = 0; j < values.Length; j++)
            {
                var original = values[j];
                values[j] = original + GradientChecker.Step;
                Assign(perturbed[i], values);
                var plus = Evaluate();
                values[j] = original - GradientChecker.Step;
                Assign(perturbed[i], values);
                var minus = Evaluate();
                values[j] = original;
                Assign(perturbed[i], values);
                numeric[j] = (plus - minus) / (2 * GradientChecker.Step);
            }
            Assert.True(numeric.Max(Math.Abs) > 1e-3, $"{names[i]}: the numeric gradient is ~0 everywhere, so the check would prove nothing.");
            Expect.Close(numeric, analytic[i], absolute, relative, $"{names[i]} gradient element");
        }
    }
}
