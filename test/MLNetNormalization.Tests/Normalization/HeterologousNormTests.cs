using MLNetNormalization.Normalization;
using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Tests.Support;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>
/// Heterologous normalization: the mean of one pixel set, the std of another around its own mean. Against
/// libtorch where it reduces to a kernel, otherwise against the float64 reference, with the running
/// statistics of its batch sets and the eval output they give.
/// </summary>
public class HeterologousNormTests
{
    private const double Tolerance = 1e-10;

    [Fact]
    public void BatchMeanWithPerChannelExtendedStdIsBatchNorm()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(91);
        using var layer = WithRandomAffine(InFloat64(new HeterologousNorm(4, PixelSet.Batch, PixelSet.Extended(4))), generator);
        var runningMean = zeros([4], ScalarType.Float64);
        var runningVar = ones([4], ScalarType.Float64);
        AssertMatchesOracle(layer, RandomInput(generator, [5, 4, 3, 3], scale: 2, offset: 1),
            (x, gamma, beta) => nn.functional.batch_norm(x, runningMean, runningVar, gamma, beta, training: true), Tolerance, Tolerance);
        AssertClose(runningMean, Buffer(layer, "mean_set_running_mean"), Tolerance, Tolerance);
        AssertClose(runningVar, Buffer(layer, "std_set_running_var"), Tolerance, Tolerance);

        layer.eval();
        var input = RandomInput(generator, [3, 4, 3, 3]);
        AssertClose(nn.functional.batch_norm(input, runningMean, runningVar, layer.Weight, layer.Bias), layer.forward(input), Tolerance, Tolerance);
    }

    [Fact]
    public void GroupMeanWithTheSameGroupStdIsGroupNorm()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(92);
        using var layer = WithRandomAffine(InFloat64(new HeterologousNorm(16, PixelSet.Group(8), PixelSet.Group(8))), generator);
        Assert.False(layer.HasRunningStatistics);
        Assert.Empty(layer.named_buffers());
        AssertMatchesOracle(layer, RandomInput(generator, [3, 16, 3, 3], scale: 2, offset: 1),
            (x, gamma, beta) => nn.functional.group_norm(x, 8, gamma, beta), Tolerance, Tolerance);
    }

    [Fact]
    public void DefaultIsBatchMeanWithLayerWideExtendedStd()
    {
        using var layer = new HeterologousNorm(4);
        Assert.Equal(PixelSet.Batch, layer.MeanSet);
        Assert.Equal(PixelSet.Extended(1), layer.StdSet);
        Assert.Equal(["mean_set_running_mean", "mean_set_running_var", "std_set_running_mean", "std_set_running_var"],
            layer.named_buffers().Select(b => b.name));
        Assert.Equal([4L], Buffer(layer, "mean_set_running_mean").shape);
        Assert.Equal([1L], Buffer(layer, "std_set_running_var").shape);
    }

    [Theory]
    [InlineData("bn", "en1")]
    [InlineData("in", "ln")]
    [InlineData("gn2", "en2")]
    [InlineData("ln", "bn")]
    [InlineData("en2", "gn2")]
    [InlineData("en1", "in")]
    [InlineData("bn", "bn")]
    public void TrainingRunningStatisticsAndEvalMatchTheFloat64Reference(string meanName, string stdName)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(93);
        const int n = 5, c = 4;
        var (meanSet, meanSize) = Set(meanName);
        var (stdSet, stdSize) = Set(stdName);
        using var layer = WithRandomAffine(InFloat64(new HeterologousNorm(c, meanSet, stdSet)), generator);
        var gamma = TestData.Values(layer.Weight);
        var beta = TestData.Values(layer.Bias);
        var running = new Dictionary<string, (double[] Mean, double[] Var)>
        {
            ["mean_set_"] = (new double[meanSize], Enumerable.Repeat(1.0, meanSize).ToArray()),
            ["std_set_"] = (new double[stdSize], Enumerable.Repeat(1.0, stdSize).ToArray()),
        };

        for (var step = 0; step < 3; step++)
        {
            var batch = RandomInput(generator, [n, c, 3, 3], scale: 1 + step, offset: step, channelSpread: 1.5);
            var reference = new PixelSetReference(TestData.Values(batch), n, c, 3, 3);
            var expected = reference.NormalizeHeterologous(ReferenceSet(reference, meanName), ReferenceSet(reference, stdName), gamma, beta);
            Expect.Close(expected, layer.forward(batch), Tolerance, Tolerance);
            foreach (var (prefix, name) in new[] { ("mean_set_", meanName), ("std_set_", stdName) })
            {
                if (!IsBatchSet(name)) continue;
                reference.UpdateRunning(ReferenceSet(reference, name), running[prefix].Mean, running[prefix].Var);
                Expect.Close(running[prefix].Mean, Buffer(layer, prefix + "running_mean"), Tolerance, Tolerance);
                Expect.Close(running[prefix].Var, Buffer(layer, prefix + "running_var"), Tolerance, Tolerance);
            }
        }
        Assert.Equal(IsBatchSet(meanName) || IsBatchSet(stdName), layer.HasRunningStatistics);
        Assert.Equal((IsBatchSet(meanName) ? 2 : 0) + (IsBatchSet(stdName) ? 2 : 0), layer.named_buffers().Count());

        // Eval (alpha 0): a batch set's running statistics, indexed by its set id, or the example's own statistics.
        layer.eval();
        var input = RandomInput(generator, [2, c, 3, 3], scale: 2, offset: -1, channelSpread: 1.5);
        var evalReference = new PixelSetReference(TestData.Values(input), 2, c, 3, 3);
        var cellMean = IsBatchSet(meanName)
            ? Spread(evalReference, ReferenceSet(evalReference, meanName), running["mean_set_"].Mean)
            : evalReference.CellStatistics(ReferenceSet(evalReference, meanName)).Mean;
        var cellVar = IsBatchSet(stdName)
            ? Spread(evalReference, ReferenceSet(evalReference, stdName), running["std_set_"].Var)
            : evalReference.CellStatistics(ReferenceSet(evalReference, stdName)).Var;
        Expect.Close(evalReference.Normalize(cellMean, cellVar, gamma, beta), layer.forward(input), Tolerance, Tolerance);
    }

    private static bool IsBatchSet(string name) => name == "bn" || name.StartsWith("en", StringComparison.Ordinal);

    private static (PixelSet Set, int RunningSize) Set(string name) => name switch
    {
        "bn" => (PixelSet.Batch, 4),
        "in" => (PixelSet.Instance, 0),
        "ln" => (PixelSet.Layer, 0),
        _ when name.StartsWith("gn", StringComparison.Ordinal) => (PixelSet.Group(int.Parse(name[2..])), 0),
        _ => (PixelSet.Extended(int.Parse(name[2..])), int.Parse(name[2..])),
    };

    private static Func<int, int, int> ReferenceSet(PixelSetReference reference, string name) => name switch
    {
        "bn" => PixelSetReference.Batch,
        "in" => reference.Instance,
        "ln" => PixelSetReference.Layer,
        _ when name.StartsWith("gn", StringComparison.Ordinal) => reference.Group(int.Parse(name[2..])),
        _ => reference.Extended(int.Parse(name[2..])),
    };

    // Per-set values over the [N·C] cells.
    private static double[] Spread(PixelSetReference reference, Func<int, int, int> setOf, double[] perSet)
    {
        var cells = new double[reference.N * reference.C];
        for (var n = 0; n < reference.N; n++)
            for (var c = 0; c < reference.C; c++)
                cells[n * reference.C + c] = perSet[setOf(n, c)];
        return cells;
    }
}
