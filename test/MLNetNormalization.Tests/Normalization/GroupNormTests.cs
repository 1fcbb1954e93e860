using MLNetNormalization.Normalization;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>GroupNorm against libtorch's group_norm, and its per-channel running moments.</summary>
public class GroupNormTests
{
    [Theory]
    [InlineData(1, ScalarType.Float64, 1e-10)]
    [InlineData(2, ScalarType.Float64, 1e-10)]
    [InlineData(6, ScalarType.Float64, 1e-10)]
    [InlineData(3, ScalarType.Float32, 1e-5)]
    public void TrainingMatchesLibtorchGroupNorm(int groups, ScalarType type, double tolerance)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(51);
        using var layer = WithRandomAffine(new GroupNorm(6, groups), generator);
        layer.to(type);
        AssertMatchesOracle(layer, RandomInput(generator, [4, 6, 3, 4], scale: 3, offset: 2, type: type),
            (x, gamma, beta) => nn.functional.group_norm(x, groups, gamma, beta), tolerance, tolerance);
    }

    [Fact]
    public void RunningMomentsArePerChannelFromTheWholeBatchAsBatchNorm()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(52);
        using var layer = InFloat64(new GroupNorm(6, 2));
        var runningMean = zeros([6], ScalarType.Float64);
        var runningVar = ones([6], ScalarType.Float64);
        for (var step = 0; step < 3; step++)
        {
            var batch = RandomInput(generator, [4, 6, 3, 3], scale: 1 + step, offset: step);
            layer.forward(batch);
            nn.functional.batch_norm(batch, runningMean, runningVar, training: true);
        }
        AssertClose(runningMean, layer.Running.Mean, 1e-12, 1e-12);
        AssertClose(runningVar, layer.Running.Var, 1e-12, 1e-12);
    }

    [Fact]
    public void EvalWithDefaultAlphaIsTheTrainingComputation()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(53);
        using var layer = WithRandomAffine(InFloat64(new GroupNorm(6, 3)), generator);
        TrainSteps(layer, generator, [4, 6, 3, 3]);
        layer.eval();
        var before = layer.Running.Mean.clone();
        var input = RandomInput(generator, [2, 6, 3, 3], scale: 2);
        AssertClose(nn.functional.group_norm(input, 3, layer.Weight, layer.Bias), layer.forward(input), 1e-10, 1e-10);
        AssertIdentical(before, layer.Running.Mean);
    }
}
