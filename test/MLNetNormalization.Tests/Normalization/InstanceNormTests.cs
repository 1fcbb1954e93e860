using MLNetNormalization.Normalization;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>InstanceNorm against libtorch's instance_norm.</summary>
public class InstanceNormTests
{
    [Theory]
    [InlineData(ScalarType.Float64, 1e-10)]
    [InlineData(ScalarType.Float32, 1e-5)]
    public void TrainingMatchesLibtorchInstanceNorm(ScalarType type, double tolerance)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(71);
        using var layer = WithRandomAffine(new InstanceNorm(4), generator);
        layer.to(type);
        AssertMatchesOracle(layer, RandomInput(generator, [3, 4, 4, 3], scale: 3, offset: 2, type: type),
            (x, gamma, beta) => nn.functional.instance_norm(x, weight: gamma, bias: beta), tolerance, tolerance);
    }

    [Fact]
    public void EvalWithAlphaZeroIsInstanceNormOnTheRunningStatistics()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(72);
        using var layer = WithRandomAffine(InFloat64(new InstanceNorm(4)), generator);
        TrainSteps(layer, generator, [3, 4, 3, 3]);
        layer.eval();
        layer.Alpha = 0;
        var input = RandomInput(generator, [2, 4, 3, 3], scale: 2);
        var expected = nn.functional.instance_norm(input, layer.Running.Mean, layer.Running.Var, layer.Weight, layer.Bias, use_input_stats: false);
        AssertClose(expected, layer.forward(input), 1e-10, 1e-10);
    }
}
