using MLNetNormalization.Normalization;
using MLNetNormalization.TorchBinding.NN;
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
        using var scope = Torch.NewDisposeScope();
        using var generator = new Generator(21);
        using var layer = WithRandomAffine(InFloat64(new GhostBatchNorm(4, ghostSize)), generator);
        var runningMean = Torch.Zeros([4], ScalarType.Float64);
        var runningVar = Torch.Ones([4], ScalarType.Float64);
        AssertMatchesOracle(layer, RandomInput(generator, [n, 4, 3, 3], scale: 2, offset: 1),
            (x, gamma, beta) => Functional.BatchNorm(x, runningMean, runningVar, gamma, beta, training: true),
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
        using var scope = Torch.NewDisposeScope();
        using var generator = new Generator(22);
        using var layer = WithRandomAffine(InFloat64(new GhostBatchNorm(4, ghostSize)), generator);
        var input = RandomInput(generator, [n, 4, 3, 3], scale: 2, offset: 1);
        // Different chunks get different statistics, so a wrong chunking shows.
        input = input.Add(Torch.Arange(0, n).To(ScalarType.Float64).View(n, 1, 1, 1));
        var unused = Torch.Zeros([4], ScalarType.Float64);
        var unusedVar = Torch.Ones([4], ScalarType.Float64);

        AssertMatchesOracle(layer, input, (x, gamma, beta) =>
        {
            var outputs = new List<Tensor>();
            var start = 0L;
            foreach (var size in chunkSizes)
            {
                outputs.Add(Functional.BatchNorm(x.Narrow(0, start, size), unused, unusedVar, gamma, beta, training: true));
                start += size;
            }
            Assert.Equal(n, start);
            return Torch.Cat(outputs, 0);
        }, Tolerance, Tolerance);

        var runningMean = Torch.Zeros([4], ScalarType.Float64);
        var runningVar = Torch.Ones([4], ScalarType.Float64);
        Functional.BatchNorm(input, runningMean, runningVar, training: true);
        AssertClose(runningMean, layer.Running.Mean, Tolerance, Tolerance);
        AssertClose(runningVar, layer.Running.Var, Tolerance, Tolerance);
    }

    [Fact]
    public void EvalIsBatchNormEvalWithTheRunningStatistics()
    {
        using var scope = Torch.NewDisposeScope();
        using var generator = new Generator(23);
        using var ghost = WithRandomAffine(InFloat64(new GhostBatchNorm(4, 2)), generator);
        using var batchNorm = InFloat64(new BatchNorm(4));
        batchNorm.LoadState(ghost.State().ToDictionary(s => s.Name, s => s.Value));
        for (var step = 0; step < 3; step++)
        {
            var batch = RandomInput(generator, [6, 4, 2, 3], scale: 1 + step, offset: step);
            ghost.Forward(batch);
            batchNorm.Forward(batch);
        }
        AssertClose(batchNorm.Running.Mean, ghost.Running.Mean, Tolerance, Tolerance);
        AssertClose(batchNorm.Running.Var, ghost.Running.Var, Tolerance, Tolerance);

        ghost.Eval();
        batchNorm.Eval();
        Assert.Equal(0, ghost.Alpha);
        var input = RandomInput(generator, [3, 4, 2, 3]);
        AssertClose(batchNorm.Forward(input), ghost.Forward(input), Tolerance, Tolerance);
        ghost.Alpha = batchNorm.Alpha = 0.4;
        AssertClose(batchNorm.Forward(input), ghost.Forward(input), Tolerance, Tolerance);
    }

    [Fact]
    public void GhostSizeBelowOneIsRejected()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new GhostBatchNorm(4, 0));
        Assert.Contains("GhostBatchNorm", error.Message);
    }
}
