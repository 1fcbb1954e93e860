using MLNetNormalization.Tests.Support;
using Xunit.Abstractions;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>
/// Float32 accuracy at a large offset: for x = 1e4 + N(0, 1), the statistics a float32 layer normalizes
/// with, seen through its output, and its input gradient, match the same layer computing in float64 on
/// the same (float32-rounded) data. E[x²] - E[x]² in float32 would lose every digit of the variance here.
/// </summary>
public class NormalizationNumericsTests(ITestOutputHelper output)
{
    private const double Offset = 1e4;
    private static readonly long[] Shape = [8, 4, 6, 6];

    [Theory]
    [MemberData(nameof(LayerCatalog.All), MemberType = typeof(LayerCatalog))]
    public void TrainingStatisticsAndInputGradientsAreAccurateAtALargeOffset(string name)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(121);
        using var single = LayerCatalog.Build(name);
        using var reference = InFloat64(LayerCatalog.Build(name));
        var x32 = RandomInput(generator, Shape, offset: Offset, type: ScalarType.Float32, channelSpread: 0.25);
        var x64 = x32.to(ScalarType.Float64);
        var weights = RandomInput(generator, Shape, channelSpread: 0);

        var leaf32 = Leaf(x32);
        var leaf64 = Leaf(x64);
        var y32 = single.forward(leaf32);
        var y64 = reference.forward(leaf64);
        AssertSameCellStatistics(y64, y32);
        if (name != "hn") AssertStandardizedOverOwnSets(name, x64, y32);

        y32.mul(weights.to(ScalarType.Float32)).sum().backward();
        y64.mul(weights).sum().backward();
        AssertRelativelyClose(leaf64.grad!, leaf32.grad!, 1e-3, "input gradient");
    }

    [Theory]
    [MemberData(nameof(LayerCatalog.All), MemberType = typeof(LayerCatalog))]
    public void EvalStatisticsAreAccurateAtALargeOffset(string name)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(122);
        using var single = LayerCatalog.Build(name);
        using var reference = InFloat64(LayerCatalog.Build(name));
        single.Alpha = reference.Alpha = 0.5;   // running and example statistics both count
        for (var step = 0; step < 3; step++)
        {
            var batch = RandomInput(generator, Shape, offset: Offset, type: ScalarType.Float32, channelSpread: 0.25);
            single.forward(batch);
            reference.forward(batch.to(ScalarType.Float64));
        }
        single.eval();
        reference.eval();
        var x32 = RandomInput(generator, Shape, offset: Offset, type: ScalarType.Float32, channelSpread: 0.25);
        AssertSameCellStatistics(reference.forward(x32.to(ScalarType.Float64)), single.forward(x32));
    }

    // Per (n, c) cell, the output's standard deviation (which is sqrt(v)/sqrt(var + eps): the variance
    // the layer used) within 5e-4 relative, so that variance within 1e-3; its mean (the centring) within 1e-3.
    private void AssertSameCellStatistics(Tensor expected, Tensor actual)
    {
        var cells = (int)(Shape[0] * Shape[1]);
        var pixels = (int)(Shape[2] * Shape[3]);
        var expectedValues = TestData.Values(expected);
        var actualValues = TestData.Values(actual);
        double worstStd = 0, worstMean = 0;
        for (var cell = 0; cell < cells; cell++)
        {
            var e = expectedValues.Skip(cell * pixels).Take(pixels).ToArray();
            var a = actualValues.Skip(cell * pixels).Take(pixels).ToArray();
            var stdError = Math.Abs(TestData.StandardDeviation(a) / TestData.StandardDeviation(e) - 1);
            var meanError = Math.Abs(a.Average() - e.Average());
            worstStd = Math.Max(worstStd, stdError);
            worstMean = Math.Max(worstMean, meanError);
        }
        output.WriteLine($"worst cell std relative error {worstStd:E2}, worst cell mean error {worstMean:E2}");
        Assert.True(worstStd < 5e-4, $"a cell's output std is off by {worstStd:E2} relative to float64 (the variance used is wrong)");
        Assert.True(worstMean < 1e-3, $"a cell's output mean is off by {worstMean:E2} from float64 (the mean used is wrong)");
    }

    // With gamma = 1 and beta = 0, the output over each of the layer's own pixel sets has mean 0 and std
    // sqrt(var / (var + eps)) = 1 - O(1e-5): checked to 1e-3 on the float32 output, computed in float64.
    private void AssertStandardizedOverOwnSets(string name, Tensor input, Tensor y)
    {
        var reference = new PixelSetReference(TestData.Values(input), (int)Shape[0], (int)Shape[1], (int)Shape[2], (int)Shape[3]);
        var setOf = name switch
        {
            "bn" => PixelSetReference.Batch,
            "ghost" => reference.Ghost(PixelSetReference.Chunks((int)Shape[0], 2, singleJoins: true)),
            "bgn" => reference.BatchGroup(2, PixelSetReference.Chunks((int)Shape[0], 2, singleJoins: false)),
            "gn" => reference.Group(2),
            "ln" => PixelSetReference.Layer,
            "in" => reference.Instance,
            _ => reference.Extended(2),
        };
        var standardized = new PixelSetReference(TestData.Values(y), (int)Shape[0], (int)Shape[1], (int)Shape[2], (int)Shape[3]);
        var (mean, var, _) = standardized.SetStatistics(setOf);
        var worstStd = var.Values.Max(v => Math.Abs(Math.Sqrt(v) - 1));
        var worstMean = mean.Values.Max(Math.Abs);
        output.WriteLine($"{name}: over its {mean.Count} sets, worst |std - 1| {worstStd:E2}, worst |mean| {worstMean:E2}");
        Assert.True(worstStd < 1e-3, $"{name}: a set's output std is off 1 by {worstStd:E2}");
        Assert.True(worstMean < 1e-3, $"{name}: a set's output mean is off 0 by {worstMean:E2}");
    }

    private void AssertRelativelyClose(Tensor expected, Tensor actual, double relative, string what)
    {
        var e = TestData.Values(expected);
        var a = TestData.Values(actual);
        var scale = e.Max(Math.Abs);
        var worst = e.Zip(a, (x, y) => Math.Abs(x - y)).Max() / scale;
        output.WriteLine($"{what}: worst error relative to the largest element {worst:E2}");
        Assert.True(worst < relative, $"{what}: float32 differs from float64 by {worst:E2} of the largest element (limit {relative:E1}).");
    }
}
