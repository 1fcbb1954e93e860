using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Support;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>BatchNorm against libtorch's batch_norm (training, running statistics, eval) and the alpha formula of docs/normalizers.md.</summary>
public class BatchNormTests
{
    private static readonly long[] Shape = [5, 4, 3, 4];

    [Theory]
    [InlineData(ScalarType.Float32, 1e-5)]
    [InlineData(ScalarType.Float64, 1e-10)]
    public void TrainingMatchesLibtorchBatchNormForwardAndGradients(ScalarType type, double tolerance)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(11);
        using var layer = WithRandomAffine(new BatchNorm(4), generator);
        layer.to(type);
        var input = RandomInput(generator, Shape, scale: 3, offset: 2, type: type);
        var runningMean = zeros([4], type);
        var runningVar = ones([4], type);

        AssertMatchesOracle(layer, input,
            (x, gamma, beta) => nn.functional.batch_norm(x, runningMean, runningVar, gamma, beta, training: true),
            tolerance, tolerance);

        AssertClose(runningMean, layer.Running.Mean, tolerance, tolerance);
        AssertClose(runningVar, layer.Running.Var, tolerance, tolerance);
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1e-5)]
    [InlineData(ScalarType.Float64, 1e-10)]
    public void EvalAfterTrainingStepsUsesTheSameRunningStatisticsAsLibtorch(ScalarType type, double tolerance)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(12);
        const double momentum = 0.3;
        using var layer = WithRandomAffine(new BatchNorm(4, momentum: momentum), generator);
        layer.to(type);
        var runningMean = zeros([4], type);
        var runningVar = ones([4], type);
        for (var step = 0; step < 4; step++)
        {
            var batch = RandomInput(generator, Shape, scale: 1 + step, offset: step - 1, type: type);
            layer.forward(batch);
            nn.functional.batch_norm(batch, runningMean, runningVar, training: true, momentum: momentum);
            AssertClose(runningMean, layer.Running.Mean, tolerance, tolerance);
            AssertClose(runningVar, layer.Running.Var, tolerance, tolerance);
        }

        layer.eval();
        Assert.Equal(0, layer.Alpha);
        var input = RandomInput(generator, Shape, scale: 2, offset: 1, type: type);
        var before = layer.Running.Var.clone();
        AssertMatchesOracle(layer, input,
            (x, gamma, beta) => nn.functional.batch_norm(x, runningMean, runningVar, gamma, beta, training: false),
            tolerance, tolerance);
        AssertIdentical(before, layer.Running.Var);   // eval leaves the running statistics alone
    }

    [Theory]
    [InlineData(0.3)]
    [InlineData(0.75)]
    public void EvalWithExampleWeightFollowsTheSpecFormula(double alpha)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(13);
        using var layer = WithRandomAffine(InFloat64(new BatchNorm(4)), generator);
        TrainSteps(layer, generator, Shape);
        layer.eval();
        layer.Alpha = alpha;
        var input = RandomInput(generator, Shape, scale: 3, offset: -2);
        var y = layer.forward(input);

        var reference = new PixelSetReference(TestData.Values(input), 5, 4, 3, 4);
        var (cellMean, cellVar) = reference.CellStatistics(reference.Instance);
        var rm = TestData.Values(layer.Running.Mean);
        var rv = TestData.Values(layer.Running.Var);
        var mean = new double[20];
        var var = new double[20];
        for (var n = 0; n < 5; n++)
            for (var c = 0; c < 4; c++)
                (mean[n * 4 + c], var[n * 4 + c]) = PixelSetReference.Mix(alpha, cellMean[n * 4 + c], cellVar[n * 4 + c], rm[c], rv[c]);
        var expected = reference.Normalize(mean, var, TestData.Values(layer.Weight), TestData.Values(layer.Bias));
        Expect.Close(expected, y, 1e-10, 1e-10, Shape);
    }

    [Fact]
    public void DefaultsArePyTorchs()
    {
        using var layer = new BatchNorm(3);
        Assert.Equal(0, layer.Alpha);
        Assert.Equal(0, layer.DefaultAlpha);
        Assert.Equal(1e-5, layer.Eps);
        Assert.Equal(0.1, layer.Momentum);
        Assert.True(layer.HasRunningStatistics);
        Assert.Equal(["weight", "bias"], layer.named_parameters().Select(p => p.name));
        Assert.Equal(["running_mean", "running_var"], layer.named_buffers().Select(b => b.name));
        Assert.Equal([1.0, 1, 1], TestData.Values(layer.Weight));
        Assert.Equal([0.0, 0, 0], TestData.Values(layer.Bias));
        Assert.Equal([0.0, 0, 0], TestData.Values(layer.Running.Mean));
        Assert.Equal([1.0, 1, 1], TestData.Values(layer.Running.Var));
    }
}
