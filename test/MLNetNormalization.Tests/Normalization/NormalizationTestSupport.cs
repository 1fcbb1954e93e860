using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Tests.Support;
using MLNetNormalization.TorchBinding.NN;

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
        var channelOffsets = Torch.Arange(0, shape[1]).To(type).Mul(channelSpread).View(1, shape[1], 1, 1);
        return Torch.Randn(shape, generator, type).Mul(scale).Add(offset).Add(channelOffsets);
    }

    /// <summary>Converts the layer's parameters and buffers to float64 and returns it, for float64 oracles and gradchecks.</summary>
    public static T InFloat64<T>(T layer) where T : Module
    {
        layer.To(ScalarType.Float64);
        return layer;
    }

    /// <summary>gamma ≈ 1 + 0.5·N(0,1), beta ≈ 0.5·N(0,1), so that an error in the affine shows.</summary>
    public static T WithRandomAffine<T>(T layer, Generator generator) where T : NormalizationLayer
    {
        using var scope = Torch.NewDisposeScope();
        using var noGrad = Torch.NoGrad();
        layer.Weight.CopyFrom(Torch.Randn([layer.Channels], generator, ScalarType.Float64).Mul(0.5).Add(1));
        layer.Bias.CopyFrom(Torch.Randn([layer.Channels], generator, ScalarType.Float64).Mul(0.5));
        return layer;
    }

    /// <summary>Runs <paramref name="steps"/> training forwards (no backward) on fresh seeded batches, which moves the running statistics.</summary>
    public static void TrainSteps(NormalizationLayer layer, Generator generator, long[] shape, int steps = 3,
                                  double scale = 2, double offset = 1)
    {
        using var scope = Torch.NewDisposeScope();
        using var noGrad = Torch.NoGrad();
        layer.Train();
        var type = layer.Weight.Type;
        for (var i = 0; i < steps; i++) layer.Forward(RandomInput(generator, shape, scale, offset + i, type));
    }

    /// <summary>Asserts equal shapes and |actual - expected| &lt;= absolute + relative·|expected| element-wise.</summary>
    public static void AssertClose(Tensor expected, Tensor actual, double absolute, double relative = 0)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        Expect.Close(TestData.Values(expected), TestData.Values(actual), absolute, relative);
    }

    /// <summary>Asserts bit-identical tensors (same type, shape and bytes).</summary>
    public static void AssertIdentical(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.Type, actual.Type);
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.Equal(TestData.RawBytes(expected), TestData.RawBytes(actual));
    }

    /// <summary>A leaf copy of <paramref name="tensor"/> that requires grad.</summary>
    public static Tensor Leaf(Tensor tensor)
    {
        var leaf = tensor.Detach().Clone();
        leaf.RequiresGrad = true;
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
        using var scope = Torch.NewDisposeScope();
        using var generator = new Generator(seed);
        Assert.Null(layer.Weight.Grad);
        var x = Leaf(input);
        var oracleX = Leaf(input);
        var gamma = Leaf(layer.Weight);
        var beta = Leaf(layer.Bias);
        var y = layer.Forward(x);
        var expected = oracle(oracleX, gamma, beta);
        AssertClose(expected, y, absolute, relative);
        var weights = Torch.Randn(y.Shape, generator, y.Type);
        y.Mul(weights).Sum().Backward();
        expected.Mul(weights).Sum().Backward();
        AssertClose(oracleX.Grad!, x.Grad!, absolute, relative);
        AssertClose(gamma.Grad!, layer.Weight.Grad!, absolute, relative);
        AssertClose(beta.Grad!, layer.Bias.Grad!, absolute, relative);
    }

    /// <summary>A buffer of the layer by name ("running_mean", "std_set_running_var", ...).</summary>
    public static Tensor Buffer(Module layer, string name) => layer.NamedBuffers().Single(b => b.Name == name).Buffer;

    /// <summary>Sets a parameter or buffer to <paramref name="values"/> (row-major) in place, outside autograd.</summary>
    public static void Assign(Tensor target, params double[] values)
    {
        using var scope = Torch.NewDisposeScope();
        using var noGrad = Torch.NoGrad();
        target.CopyFrom(TestData.Float64(values, target.Shape));
    }

    /// <summary>
    /// Gradcheck of a float64 layer in its current mode: the autograd gradients of Σ y·w (w fixed, see
    /// <see cref="GradientChecker.WeightedSum"/>) with respect to the input and the named parameters
    /// against central differences, each element perturbed in place. A training forward may move running
    /// statistics; the training output does not depend on them.
    /// </summary>
    public static void AssertLayerGradientsMatch(Module layer, Tensor input, string[] parameterNames,
                                                 double relative = 1e-5, double absolute = 1e-6)
    {
        using var scope = Torch.NewDisposeScope();
        Assert.Equal(ScalarType.Float64, input.Type);
        var parameters = parameterNames.Select(name => layer.NamedParameters().Single(p => p.Name == name).Parameter).ToArray();
        foreach (var parameter in parameters) Assert.Equal(ScalarType.Float64, parameter.Type);

        using (var clearer = new MLNetNormalization.TorchBinding.Optim.SGD(layer.Parameters(), 0)) clearer.ZeroGrad();
        var x = Leaf(input);
        GradientChecker.WeightedSum(layer.Forward(x)).Backward();
        var analytic = new[] { x.Grad! }.Concat(parameters.Select(p => p.Grad ?? Torch.Zeros(p.Shape, ScalarType.Float64)))
            .Select(TestData.Values).ToArray();

        var perturbed = new[] { input.Detach().Clone() }.Concat(parameters).ToArray();
        var names = new[] { "input" }.Concat(parameterNames).ToArray();
        double Evaluate()
        {
            using var evaluationScope = Torch.NewDisposeScope();
            using var noGrad = Torch.NoGrad();
            return GradientChecker.WeightedSum(layer.Forward(perturbed[0])).Item<double>();
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
