using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Support;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>ExtendedNorm EN(G): BN when G = C, otherwise against the float64 reference (training, running statistics, eval).</summary>
public class ExtendedNormTests
{
    private const double Tolerance = 1e-10;

    [Fact]
    public void OneGroupPerChannelIsBatchNorm()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(81);
        using var layer = WithRandomAffine(InFloat64(new ExtendedNorm(4, groups: 4)), generator);
        var runningMean = zeros([4], ScalarType.Float64);
        var runningVar = ones([4], ScalarType.Float64);
        AssertMatchesOracle(layer, RandomInput(generator, [5, 4, 3, 3], scale: 2, offset: 1),
            (x, gamma, beta) => nn.functional.batch_norm(x, runningMean, runningVar, gamma, beta, training: true), Tolerance, Tolerance);
        AssertClose(runningMean, layer.Running.Mean, Tolerance, Tolerance);
        AssertClose(runningVar, layer.Running.Var, Tolerance, Tolerance);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void TrainingRunningStatisticsAndEvalMatchTheFloat64Reference(int groups)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(82);
        using var layer = WithRandomAffine(InFloat64(new ExtendedNorm(4, groups)), generator);
        Assert.Equal([groups], layer.Running.Mean.shape);
        var gamma = TestData.Values(layer.Weight);
        var beta = TestData.Values(layer.Bias);
        var runningMean = new double[groups];
        var runningVar = Enumerable.Repeat(1.0, groups).ToArray();
        for (var step = 0; step < 3; step++)
        {
            var batch = RandomInput(generator, [5, 4, 3, 3], scale: 1 + step, offset: step);
            var reference = new PixelSetReference(TestData.Values(batch), 5, 4, 3, 3);
            Expect.Close(reference.Normalize(reference.Extended(groups), gamma, beta), layer.forward(batch), Tolerance, Tolerance);
            reference.UpdateRunning(reference.Extended(groups), runningMean, runningVar);   // var unbiased by N·(C/G)·H·W
            Expect.Close(runningMean, layer.Running.Mean, Tolerance, Tolerance);
            Expect.Close(runningVar, layer.Running.Var, Tolerance, Tolerance);
        }

        layer.eval();
        var input = RandomInput(generator, [2, 4, 3, 3], scale: 3);
        var evalReference = new PixelSetReference(TestData.Values(input), 2, 4, 3, 3);
        var cellMean = new double[8];
        var cellVar = new double[8];
        for (var cell = 0; cell < 8; cell++)
        {
            cellMean[cell] = runningMean[cell % 4 / (4 / groups)];
            cellVar[cell] = runningVar[cell % 4 / (4 / groups)];
        }
        Expect.Close(evalReference.Normalize(cellMean, cellVar, gamma, beta), layer.forward(input), Tolerance, Tolerance);
    }
}
