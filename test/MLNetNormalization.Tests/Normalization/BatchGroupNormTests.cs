using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Support;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>Batch-group norm: its corners against libtorch (B_g = 1 is GN, G = C with B_g = N is BN), the rest against the float64 reference.</summary>
public class BatchGroupNormTests
{
    private const double Tolerance = 1e-10;

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(6)]
    public void OneExamplePerGroupIsGroupNorm(int groups)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(41);
        using var layer = WithRandomAffine(InFloat64(new BatchGroupNorm(6, groups, examplesPerGroup: 1)), generator);
        AssertMatchesOracle(layer, RandomInput(generator, [5, 6, 3, 3], scale: 2, offset: 1),
            (x, gamma, beta) => nn.functional.group_norm(x, groups, gamma, beta), Tolerance, Tolerance);
    }

    [Fact]
    public void OneGroupPerChannelOverTheWholeBatchIsBatchNorm()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(42);
        using var layer = WithRandomAffine(InFloat64(new BatchGroupNorm(4, groups: 4, examplesPerGroup: 5)), generator);
        var runningMean = zeros([4], ScalarType.Float64);
        var runningVar = ones([4], ScalarType.Float64);
        AssertMatchesOracle(layer, RandomInput(generator, [5, 4, 3, 3], scale: 2, offset: 1),
            (x, gamma, beta) => nn.functional.batch_norm(x, runningMean, runningVar, gamma, beta, training: true), Tolerance, Tolerance);
        AssertClose(runningMean, layer.Running.Mean, Tolerance, Tolerance);
        AssertClose(runningVar, layer.Running.Var, Tolerance, Tolerance);

        // Eval with alpha = 0 is then BN's eval.
        layer.eval();
        layer.Alpha = 0;
        var input = RandomInput(generator, [3, 4, 3, 3]);
        AssertClose(nn.functional.batch_norm(input, runningMean, runningVar, layer.Weight, layer.Bias), layer.forward(input), Tolerance, Tolerance);
    }

    [Theory]
    [InlineData(8, 2, 4)]                 // even chunks
    [InlineData(7, 2, 3)]                 // chunks of 3, 3, 1: the remainder stays on its own
    [InlineData(6, 1, 2)]                 // one group: all channels of two examples
    public void TrainingMatchesTheFloat64Reference(int n, int groups, int examplesPerGroup)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(43);
        using var layer = WithRandomAffine(InFloat64(new BatchGroupNorm(4, groups, examplesPerGroup)), generator);
        var input = RandomInput(generator, [n, 4, 3, 3], scale: 2, offset: 1)
            .add(arange(0, n).to(ScalarType.Float64).view(n, 1, 1, 1));   // chunks differ, so chunking errors show
        var y = layer.forward(input);

        var reference = new PixelSetReference(TestData.Values(input), n, 4, 3, 3);
        var chunks = PixelSetReference.Chunks(n, examplesPerGroup, singleJoins: false);
        var expected = reference.Normalize(reference.BatchGroup(groups, chunks), TestData.Values(layer.Weight), TestData.Values(layer.Bias));
        Expect.Close(expected, y, Tolerance, Tolerance, [n, 4, 3, 3]);

        // Running moments per channel from the whole batch, as BN.
        var runningMean = new double[] { 0, 0, 0, 0 };
        var runningVar = new double[] { 1, 1, 1, 1 };
        reference.UpdateRunning(PixelSetReference.Batch, runningMean, runningVar);
        Expect.Close(runningMean, layer.Running.Mean, Tolerance, Tolerance);
        Expect.Close(runningVar, layer.Running.Var, Tolerance, Tolerance);
    }

    [Fact]
    public void ExamplesPerGroupBelowOneIsRejected()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new BatchGroupNorm(4, 2, 0));
        Assert.Contains("BatchGroupNorm", error.Message);
    }
}
