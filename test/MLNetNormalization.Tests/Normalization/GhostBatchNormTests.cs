using MLNetNormalization.Normalization;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>Ghost BN against libtorch's batch_norm applied to each chunk of examples, and against BN for the running statistics.</summary>
public class GhostBatchNormTests
{
    private const double Tolerance = 1e-10;

    [Theory]
    [InlineData(6, 6)]
    [InlineData(6, 10)]
    [InlineData(4, 3)]     // the last chunk of one example joins the chunk before: one chunk of 4
    public void GhostSizeCoveringTheBatchIsBatchNorm(int n, int ghostSize)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(21);
        using var layer = WithRandomAffine(InFloat64(new GhostBatchNorm(4, ghostSize)), generator);
        var runningMean = zeros([4], ScalarType.Float64);
        var runningVar = ones([4], ScalarType.Float64);
        AssertMatchesOracle(layer, RandomInput(generator, [n, 4, 3, 3], scale: 2, offset: 1),
            (x, gamma, beta) => nn.functional.batch_norm(x, runningMean, runningVar, gamma, beta, training: true),
            Tolerance, Tolerance);
        AssertClose(runningMean, layer.Running.Mean, Tolerance, Tolerance);
        AssertClose(runningVar, layer.Running.Var, Tolerance, Tolerance);
    }

    [Theory]
    [InlineData(7, 3, new[] { 3, 4 })]       // a last chunk of one example joins the one before
    [InlineData(8, 4, new[] { 4, 4 })]       // even chunks
    [InlineData(8, 3, new[] { 3, 3, 2 })]    // a last chunk of two stays on its own
    [InlineData(5, 1, new[] { 1, 1, 1, 1, 1 })]
    public void SmallerGhostSizeIsBatchNormOfEachChunkWithRunningStatisticsOfTheWholeBatch(int n, int ghostSize, int[] chunkSizes)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(22);
        using var layer = WithRandomAffine(InFloat64(new GhostBatchNorm(4, ghostSize)), generator);
        var input = RandomInput(generator, [n, 4, 3, 3], scale: 2, offset: 1);
        // Different chunks get different statistics, so a wrong chunking shows.
        input = input.add(arange(0, n).to(ScalarType.Float64).view(n, 1, 1, 1));
        var unused = zeros([4], ScalarType.Float64);
        var unusedVar = ones([4], ScalarType.Float64);

        AssertMatchesOracle(layer, input, (x, gamma, beta) =>
        {
            var outputs = new List<Tensor>();
            var start = 0L;
            foreach (var size in chunkSizes)
            {
                outputs.Add(nn.functional.batch_norm(x.narrow(0, start, size), unused, unusedVar, gamma, beta, training: true));
                start += size;
            }
            Assert.Equal(n, start);
            return cat(outputs, 0);
        }, Tolerance, Tolerance);

        var runningMean = zeros([4], ScalarType.Float64);
        var runningVar = ones([4], ScalarType.Float64);
        nn.functional.batch_norm(input, runningMean, runningVar, training: true);
        AssertClose(runningMean, layer.Running.Mean, Tolerance, Tolerance);
        AssertClose(runningVar, layer.Running.Var, Tolerance, Tolerance);
    }

    [Fact]
    public void EvalIsBatchNormEvalWithTheRunningStatistics()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(23);
        using var ghost = WithRandomAffine(InFloat64(new GhostBatchNorm(4, 2)), generator);
        using var batchNorm = InFloat64(new BatchNorm(4));
        batchNorm.load_state_dict(ghost.state_dict().ToDictionary(s => s.Key, s => s.Value));
        for (var step = 0; step < 3; step++)
        {
            var batch = RandomInput(generator, [6, 4, 2, 3], scale: 1 + step, offset: step);
            ghost.forward(batch);
            batchNorm.forward(batch);
        }
        AssertClose(batchNorm.Running.Mean, ghost.Running.Mean, Tolerance, Tolerance);
        AssertClose(batchNorm.Running.Var, ghost.Running.Var, Tolerance, Tolerance);

        ghost.eval();
        batchNorm.eval();
        Assert.Equal(0, ghost.Alpha);
        var input = RandomInput(generator, [3, 4, 2, 3]);
        AssertClose(batchNorm.forward(input), ghost.forward(input), Tolerance, Tolerance);
        ghost.Alpha = batchNorm.Alpha = 0.4;
        AssertClose(batchNorm.forward(input), ghost.forward(input), Tolerance, Tolerance);
    }

    [Fact]
    public void GhostSizeBelowOneIsRejected()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new GhostBatchNorm(4, 0));
        Assert.Contains("GhostBatchNorm", error.Message);
    }
}
