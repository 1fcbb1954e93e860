using MLNetNormalization.Normalization;
using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Tests.Support;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>The pixel-set core: Chan pooling, example weighing, chunking, set names, and set statistics against the float64 reference.</summary>
public class NormalizationCoreTests
{
    private const double Tight = 1e-12;

    private static bool AllFinite(Tensor tensor) => tensor.isfinite().all().item<bool>();

    /// <summary>A module that owns two buffers, "mean" and "var", as a layer owns its running moments.</summary>
    private sealed class MomentBuffers : nn.Module
    {
        public MomentBuffers(Tensor mean, Tensor var) : base(nameof(MomentBuffers))
        {
            register_buffer("mean", mean);
            register_buffer("var", var);
        }

        public RunningMoments Running => new(this, "mean", "var");
    }

    // ----- Pool -----

    [Fact]
    public void EqualPoolingOfSetMomentsIsTheMomentOfTheirUnion()
    {
        using var scope = NewDisposeScope();
        // 5 sets of 7 values each, in 3 independent columns: per set mean and biased var, then pooled.
        const int sets = 5, size = 7, columns = 3;
        var raw = TestData.Uniform(151, sets * size * columns, -3, 5).Select((v, i) => v + 10 * (i / (size * columns))).ToArray();
        double Value(int set, int k, int column) => raw[(set * size + k) * columns + column];
        var mean = new double[sets * columns];
        var var = new double[sets * columns];
        for (var s = 0; s < sets; s++)
            for (var d = 0; d < columns; d++)
            {
                var values = Enumerable.Range(0, size).Select(k => Value(s, k, d)).ToArray();
                mean[s * columns + d] = values.Average();
                var[s * columns + d] = values.Average(v => Math.Pow(v - values.Average(), 2));
            }
        var pooled = Pool.Equal(new(TestData.Float64(mean, sets, columns), TestData.Float64(var, sets, columns)), 0);

        var expectedMean = new double[columns];
        var expectedVar = new double[columns];
        for (var d = 0; d < columns; d++)
        {
            var union = Enumerable.Range(0, sets).SelectMany(s => Enumerable.Range(0, size).Select(k => Value(s, k, d))).ToArray();
            expectedMean[d] = union.Average();
            expectedVar[d] = union.Average(v => Math.Pow(v - expectedMean[d], 2));
        }
        Expect.Close(expectedMean, pooled.Mean, Tight, Tight, [columns]);
        Expect.Close(expectedVar, pooled.Var, Tight, Tight, [columns]);

        var kept = Pool.Equal(new(TestData.Float64(mean, sets, columns), TestData.Float64(var, sets, columns)), 0, keepDim: true);
        Assert.Equal([1L, columns], kept.Mean.shape);
        Expect.Close(expectedVar, kept.Var, Tight, Tight);
    }

    [Fact]
    public void WeightedPoolingMatchesAHandComputation()
    {
        using var scope = NewDisposeScope();
        // Two independent batches of [R = 4, D = 3] moments pooled into K = 2 sets by [4, 2] weights.
        const int batches = 2, rows = 4, columns = 3, sets = 2;
        var mean = TestData.Uniform(152, batches * rows * columns, -2, 3);
        var var = TestData.Uniform(153, batches * rows * columns, 0.1, 2);
        var weights = TestData.Uniform(154, batches * rows * sets, 0, 1);
        var pooled = Pool.Weighted(new(TestData.Float64(mean, batches, rows, columns), TestData.Float64(var, batches, rows, columns)),
                                   TestData.Float64(weights, batches, rows, sets));
        Assert.Equal([batches, sets, columns], pooled.Mean.shape);

        var expectedMean = new double[batches * sets * columns];
        var expectedVar = new double[batches * sets * columns];
        for (var b = 0; b < batches; b++)
            for (var k = 0; k < sets; k++)
                for (var d = 0; d < columns; d++)
                {
                    double total = 0, weightedMean = 0, weightedVar = 0;
                    for (var r = 0; r < rows; r++) total += weights[(b * rows + r) * sets + k];
                    for (var r = 0; r < rows; r++) weightedMean += weights[(b * rows + r) * sets + k] * mean[(b * rows + r) * columns + d];
                    weightedMean /= total;
                    for (var r = 0; r < rows; r++)
                        weightedVar += weights[(b * rows + r) * sets + k] *
                                       (var[(b * rows + r) * columns + d] + Math.Pow(mean[(b * rows + r) * columns + d] - weightedMean, 2));
                    expectedMean[(b * sets + k) * columns + d] = weightedMean;
                    expectedVar[(b * sets + k) * columns + d] = weightedVar / total;
                }
        Expect.Close(expectedMean, pooled.Mean, Tight, Tight);
        Expect.Close(expectedVar, pooled.Var, Tight, Tight);
    }

    [Fact]
    public void WeightedPoolingOfAnEmptySetStaysFinite()
    {
        using var scope = NewDisposeScope();
        var mean = TestData.Float64([1, 2, 3, 4, 5, 6], 3, 2);
        var var = TestData.Float64([0.5, 1, 1.5, 2, 2.5, 3], 3, 2);
        // Set 0 takes rows 0 and 2 equally; set 1's weights sum to zero (a collapsed mode).
        var pooled = Pool.Weighted(new(mean, var), TestData.Float64([1, 0, 0, 0, 1, 0], 3, 2));
        Assert.True(AllFinite(pooled.Mean));
        Assert.True(AllFinite(pooled.Var));
        Expect.Close([3, 4], pooled.Mean.narrow(0, 0, 1), Tight);
        Expect.Close([1.5 + 4, 2 + 4], pooled.Var.narrow(0, 0, 1), Tight);   // mean of the two vars + spread of the means, (±2)²
        // Tiny but non-zero weights still normalize exactly.
        var tiny = Pool.Weighted(new(mean, var), TestData.Float64([1e-9, 0, 0, 0, 1e-9, 0], 3, 2));
        Expect.Close([3, 4], tiny.Mean.narrow(0, 0, 1), Tight);
    }

    [Fact]
    public void MixingWithRunningMomentsFollowsTheSecondMomentFormula()
    {
        using var scope = NewDisposeScope();
        double[] m = [1.5, -2, 100], v = [0.5, 2, 3], rm = [1, 0.5, 99], rv = [1, 1.5, 4];
        var example = new MeanVar(TestData.Float64(m, 3), TestData.Float64(v, 3));
        var running = new MeanVar(TestData.Float64(rm, 3), TestData.Float64(rv, 3));

        var zero = Pool.MixWithRunning(example, running, 0);
        AssertIdentical(running.Mean, zero.Mean);
        AssertIdentical(running.Var, zero.Var);
        var one = Pool.MixWithRunning(example, running, 1);
        AssertIdentical(example.Mean, one.Mean);
        AssertIdentical(example.Var, one.Var);

        foreach (var alpha in new[] { 0.2, 0.5, 0.9 })
        {
            var mixed = Pool.MixWithRunning(example, running, alpha);
            var expected = m.Select((_, i) => PixelSetReference.Mix(alpha, m[i], v[i], rm[i], rv[i])).ToArray();
            Expect.Close(expected.Select(e => e.Mean).ToArray(), mixed.Mean, Tight, Tight);
            Expect.Close(expected.Select(e => e.Var).ToArray(), mixed.Var, 1e-9, 1e-9);   // E2 - mu² loses digits at mean 100
        }
    }

    // ----- PixelSet -----

    [Theory]
    [InlineData(7, 3, new long[] { 0, 0, 0, 1, 1, 1, 1 })]    // a last chunk of one joins the chunk before
    [InlineData(6, 3, new long[] { 0, 0, 0, 1, 1, 1 })]
    [InlineData(8, 3, new long[] { 0, 0, 0, 1, 1, 1, 2, 2 })]
    [InlineData(1, 3, new long[] { 0 })]                       // one example: nothing to join
    [InlineData(4, 1, new long[] { 0, 1, 2, 3 })]
    [InlineData(2, 5, new long[] { 0, 0 })]
    public void GhostChunksJoinALastSingleExampleToThePreviousChunk(int n, int size, long[] expected)
    {
        var (chunkOf, chunks) = PixelSet.Ghost(size).ChunksFor(n);
        Assert.Equal(expected, chunkOf);
        Assert.Equal((int)expected.Max() + 1, chunks);
    }

    [Theory]
    [InlineData(7, 3, new long[] { 0, 0, 0, 1, 1, 1, 2 })]    // the remainder chunk stays on its own
    [InlineData(6, 3, new long[] { 0, 0, 0, 1, 1, 1 })]
    [InlineData(5, 2, new long[] { 0, 0, 1, 1, 2 })]
    public void BatchGroupChunksKeepTheRemainder(int n, int size, long[] expected)
    {
        var (chunkOf, chunks) = PixelSet.BatchGroup(2, size).ChunksFor(n);
        Assert.Equal(expected, chunkOf);
        Assert.Equal((int)expected.Max() + 1, chunks);
    }

    [Fact]
    public void SetsAreNamedAsInThePapers()
    {
        Assert.Equal("BN", PixelSet.Batch.Name);
        Assert.Equal("IN", PixelSet.Instance.Name);
        Assert.Equal("LN", PixelSet.Layer.Name);
        Assert.Equal("GN8", PixelSet.Group(8).Name);
        Assert.Equal("EN1", PixelSet.Extended(1).Name);
        Assert.Equal("ghost4", PixelSet.Ghost(4).Name);
        Assert.Equal("BGN2x4", PixelSet.BatchGroup(2, 4).Name);
        Assert.Equal("GN8", PixelSet.Group(8).ToString());
        Assert.Equal(PixelSet.Group(8), PixelSet.Group(8));
        Assert.NotEqual(PixelSet.Group(8), PixelSet.Extended(8));
    }

    [Fact]
    public void WithinExampleKeepsTheChannelGroupingOfOneExample()
    {
        foreach (var perExample in new[] { PixelSet.Instance, PixelSet.Layer, PixelSet.Group(4) })
        {
            Assert.Same(perExample, perExample.WithinExample);
            Assert.False(perExample.IsBatchDependent);
        }
        foreach (var (set, groups) in new[] { (PixelSet.Batch, (int?)null), (PixelSet.Extended(2), 2), (PixelSet.Ghost(3), null), (PixelSet.BatchGroup(2, 3), 2) })
        {
            Assert.True(set.IsBatchDependent);
            var within = set.WithinExample;
            Assert.Equal(ExampleGrouping.Each, within.Examples);
            Assert.Equal(groups, within.ChannelGroups);
            Assert.False(within.IsBatchDependent);
            Assert.StartsWith(set.Name, within.Name);
        }
    }

    [Theory]
    [InlineData("BN", 5, 4, 9, 45)]
    [InlineData("IN", 5, 4, 9, 9)]
    [InlineData("LN", 5, 4, 9, 36)]
    [InlineData("GN2", 5, 4, 9, 18)]
    [InlineData("EN2", 5, 4, 9, 90)]
    [InlineData("ghost3", 7, 4, 1, 3)]     // chunks of 3 and 4
    [InlineData("ghost3", 8, 4, 1, 2)]     // chunks of 3, 3 and 2
    [InlineData("BGN2x3", 7, 4, 1, 2)]     // the remainder chunk: one example, two channels
    public void SmallestSetSizeCountsTheValuesOfTheSmallestSet(string name, long n, long c, long pixels, long expected)
    {
        var set = name switch
        {
            "BN" => PixelSet.Batch,
            "IN" => PixelSet.Instance,
            "LN" => PixelSet.Layer,
            "GN2" => PixelSet.Group(2),
            "EN2" => PixelSet.Extended(2),
            "ghost3" => PixelSet.Ghost(3),
            _ => PixelSet.BatchGroup(2, 3),
        };
        Assert.Equal(expected, set.SmallestSetSize(n, c, pixels));
    }

    [Fact]
    public void InvalidSetsAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PixelSet.Group(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => PixelSet.Extended(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PixelSet.Ghost(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => PixelSet.BatchGroup(2, 0));
        PixelSet.Group(4).CheckChannels("GroupNorm", 8);
        var error = Assert.Throws<ArgumentException>(() => PixelSet.Group(3).CheckChannels("GroupNorm", 8));
        Assert.Contains("1, 2, 4, 8", error.Message);
    }

    // ----- cell moments, set pooling, running moments -----

    public static TheoryData<string, int> PoolingCases() => new()
    {
        { "BN", 6 }, { "IN", 6 }, { "LN", 6 }, { "GN2", 6 }, { "EN1", 6 }, { "EN2", 6 },
        { "ghost3", 7 }, { "ghost3", 6 }, { "ghost3", 8 }, { "BGN2x3", 7 }, { "BGN2x3", 6 }, { "BGN1x2", 5 },
    };

    [Theory]
    [MemberData(nameof(PoolingCases))]
    public void PooledSetStatisticsSpreadOverTheCellsMatchTheReference(string name, int n)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(155);
        var input = RandomInput(generator, [n, 4, 2, 3], scale: 2, offset: 1, channelSpread: 1)
            .add(arange(0, n).to(ScalarType.Float64).view(n, 1, 1, 1));
        var reference = new PixelSetReference(TestData.Values(input), n, 4, 2, 3);
        var (set, setOf) = name switch
        {
            "BN" => (PixelSet.Batch, PixelSetReference.Batch),
            "IN" => (PixelSet.Instance, reference.Instance),
            "LN" => (PixelSet.Layer, PixelSetReference.Layer),
            "GN2" => (PixelSet.Group(2), reference.Group(2)),
            "EN1" => (PixelSet.Extended(1), reference.Extended(1)),
            "EN2" => (PixelSet.Extended(2), reference.Extended(2)),
            "ghost3" => (PixelSet.Ghost(3), reference.Ghost(PixelSetReference.Chunks(n, 3, singleJoins: true))),
            "BGN2x3" => (PixelSet.BatchGroup(2, 3), reference.BatchGroup(2, PixelSetReference.Chunks(n, 3, singleJoins: false))),
            _ => (PixelSet.BatchGroup(1, 2), reference.BatchGroup(1, PixelSetReference.Chunks(n, 2, singleJoins: false))),
        };
        var cells = CellMoments.Of(input);
        var perCell = set.ToCells(set.PoolSets(cells), cells);
        var (expectedMean, expectedVar) = reference.CellStatistics(setOf);
        Expect.Close(expectedMean, perCell.Mean, Tight, Tight, [n, 4]);
        Expect.Close(expectedVar, perCell.Var, Tight, Tight, [n, 4]);
    }

    [Fact]
    public void CellMomentsAreFloat64MeansAndBiasedVariancesPerCell()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(156);
        var input = RandomInput(generator, [3, 2, 4, 5], scale: 2, offset: 3, type: ScalarType.Float32);
        var cells = CellMoments.Of(input);
        Assert.Equal(ScalarType.Float64, cells.Mean.dtype);
        Assert.Equal(ScalarType.Float64, cells.Var.dtype);
        Assert.Equal(20, cells.PixelsPerCell);
        var reference = new PixelSetReference(TestData.Values(input), 3, 2, 4, 5);
        var (mean, var) = reference.CellStatistics(reference.Instance);
        Expect.Close(mean, cells.Mean, 1e-6, 1e-6, [3, 2]);
        Expect.Close(var, cells.Var, 1e-6, 1e-6, [3, 2]);
    }

    [Fact]
    public void RunningMomentsFoldInTheUnbiasedVarianceWithMomentum()
    {
        using var scope = NewDisposeScope();
        using var owner = new MomentBuffers(TestData.Float64([1, 2], 2), TestData.Float64([3, 4], 2));
        var running = owner.Running;
        running.Update(new(TestData.Float64([5, 6], 1, 2), TestData.Float64([0.5, 1], 1, 2)), valuesPerSet: 5, momentum: 0.25);
        Expect.Close([0.75 * 1 + 0.25 * 5, 0.75 * 2 + 0.25 * 6], running.Mean, Tight);
        Expect.Close([0.75 * 3 + 0.25 * 0.5 * 5 / 4, 0.75 * 4 + 0.25 * 1 * 5 / 4], running.Var, Tight);
    }

    // ----- layer plumbing -----

    [Theory]
    [MemberData(nameof(LayerCatalog.All), MemberType = typeof(LayerCatalog))]
    public void NonContiguousInputGivesTheSameOutputAndGradientAsContiguousInput(string name)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(157);
        using var layer = WithRandomAffine(InFloat64(LayerCatalog.Build(name)), generator);
        // Channels-last memory seen as NCHW: a permuted, non-contiguous view of a leaf.
        var channelsLast = Leaf(randn([4, 3, 5, 4], ScalarType.Float64, generator: generator).mul(2).add(1));
        var view = channelsLast.permute(0, 3, 1, 2);
        Assert.False(view.is_contiguous());
        var contiguous = Leaf(view.detach().contiguous());
        Assert.True(contiguous.is_contiguous());
        var weights = RandomInput(generator, [4, 4, 3, 5]);

        var expected = layer.forward(contiguous);
        var actual = layer.forward(view);
        AssertClose(expected, actual, 1e-12, 1e-12);
        expected.mul(weights).sum().backward();
        actual.mul(weights).sum().backward();
        AssertClose(contiguous.grad!, channelsLast.grad!.permute(0, 3, 1, 2), 1e-12, 1e-12);
    }

    [Fact]
    public void RunningStatisticsStayOutOfAutograd()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(158);
        foreach (var name in LayerCatalog.Names)
        {
            using var layer = LayerCatalog.Build(name);
            var x = Leaf(RandomInput(generator, [4, 4, 3, 3], type: ScalarType.Float32));
            layer.forward(x).sum().backward();
            foreach (var (buffer, value) in layer.named_buffers())
            {
                Assert.False(value.requires_grad, $"{name}: {buffer} requires grad");
                Assert.True(value.is_leaf, $"{name}: {buffer} is part of a graph");
            }
        }
    }

    [Fact]
    public void SetStatisticsRejectInconsistentRunningMoments()
    {
        using var scope = NewDisposeScope();
        using var owner = new MomentBuffers(zeros([4], ScalarType.Float64), ones([4], ScalarType.Float64));
        var running = owner.Running;
        // Running moments are float64 buffers whatever the layer's type (docs/normalizers.md, section 2, "Storage"): RunningMoments
        // now reads its owner's buffers by name, so what keeps them float64 is the layer, through to(ScalarType) as well.
        using var float32Layer = new BatchNorm(4);
        float32Layer.to(ScalarType.Float64);
        float32Layer.to(ScalarType.Float32);
        Assert.Equal(ScalarType.Float32, float32Layer.Weight.dtype);
        Assert.Equal(ScalarType.Float64, float32Layer.Running.Mean.dtype);
        Assert.Equal(ScalarType.Float64, float32Layer.Running.Var.dtype);
        Assert.Throws<ArgumentException>(() => new PixelSetStatistics(PixelSet.Batch, RunningStatisticsKind.None, running));
        Assert.Throws<ArgumentException>(() => new PixelSetStatistics(PixelSet.Batch, RunningStatisticsKind.PerSet, null));
        Assert.Throws<ArgumentException>(() => new PixelSetStatistics(PixelSet.Group(2), RunningStatisticsKind.PerSet, running));
    }
}
