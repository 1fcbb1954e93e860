using MLNetNormalization.TorchBinding.NN;

namespace MLNetNormalization.Tests.Binding;

/// <summary>libtorch's batch, group, instance and layer normalization against float64 formulas in C#.</summary>
public class NormalizationTests
{
    private const double Eps = 1e-5;
    private const double Tight = 1e-12;

    /// <summary>
    /// Splits the elements into statistics groups (<paramref name="groupOf"/> maps a row-major index to its
    /// group), and returns (x - mean) / sqrt(biased variance + eps) with each group's mean, biased variance and size.
    /// </summary>
    private static (double[] Normalized, double[] Mean, double[] Variance, int[] Count) Standardize(
        double[] x, Func<int, int> groupOf, int groups, double eps = Eps)
    {
        var mean = new double[groups];
        var variance = new double[groups];
        var count = new int[groups];
        for (var i = 0; i < x.Length; i++)
        {
            mean[groupOf(i)] += x[i];
            count[groupOf(i)]++;
        }
        for (var g = 0; g < groups; g++) mean[g] /= count[g];
        for (var i = 0; i < x.Length; i++) variance[groupOf(i)] += Math.Pow(x[i] - mean[groupOf(i)], 2);
        for (var g = 0; g < groups; g++) variance[g] /= count[g];
        var normalized = x.Select((v, i) => (v - mean[groupOf(i)]) / Math.Sqrt(variance[groupOf(i)] + eps)).ToArray();
        return (normalized, mean, variance, count);
    }

    /// <summary>y = normalized·γ[a] + β[a] where a = affineOf(index).</summary>
    private static double[] Affine(double[] normalized, double[] gamma, double[] beta, Func<int, int> affineOf) =>
        normalized.Select((v, i) => v * gamma[affineOf(i)] + beta[affineOf(i)]).ToArray();

    /// <summary>Values with a different offset and spread per channel of an (n, c, h, w) layout.</summary>
    private static double[] ChannelData(int seed, int n, int c, int hw) =>
        TestData.Uniform(seed, n * c * hw).Select((v, i) => (i / hw % c + 1) * (v + i / hw % c)).ToArray();

    [Fact]
    public void BatchNormTrainingNormalizesWithBatchStatisticsAndUpdatesRunningStatistics()
    {
        using var scope = Torch.NewDisposeScope();
        const int n = 4, c = 3, hw = 6;
        const double momentum = 0.2;
        var x = ChannelData(60, n, c, hw);
        double[] gamma = [1.5, -0.5, 2], beta = [0.1, 0.2, -0.3], mean0 = [0.5, -1, 2], var0 = [1.5, 0.5, 2];
        Func<int, int> channel = i => i / hw % c;

        var (normalized, mean, variance, count) = Standardize(x, channel, c);
        var runningMean = TestData.Float64(mean0, c);
        var runningVar = TestData.Float64(var0, c);
        var y = Functional.BatchNorm(TestData.Float64(x, n, c, 2, 3), runningMean, runningVar, TestData.Float64(gamma, c),
                                     TestData.Float64(beta, c), training: true, momentum: momentum, eps: Eps);

        Expect.Close(Affine(normalized, gamma, beta, channel), y, Tight, 0, [n, c, 2, 3]);
        Expect.Close(mean0.Select((m, k) => (1 - momentum) * m + momentum * mean[k]).ToArray(), runningMean, Tight);
        // The running variance takes the unbiased batch variance.
        Expect.Close(var0.Select((v, k) => (1 - momentum) * v + momentum * variance[k] * count[k] / (count[k] - 1)).ToArray(), runningVar, Tight);
    }

    [Fact]
    public void BatchNormEvaluationUsesTheRunningStatisticsAndLeavesThemAlone()
    {
        using var scope = Torch.NewDisposeScope();
        const int n = 2, c = 3, hw = 4;
        var x = ChannelData(61, n, c, hw);
        double[] gamma = [1.5, -0.5, 2], beta = [0.1, 0.2, -0.3], mean0 = [0.5, -1, 2], var0 = [1.5, 0.5, 2];
        var expected = x.Select((v, i) => (v - mean0[i / hw % c]) / Math.Sqrt(var0[i / hw % c] + Eps) * gamma[i / hw % c] + beta[i / hw % c]).ToArray();

        var runningMean = TestData.Float64(mean0, c);
        var runningVar = TestData.Float64(var0, c);
        var y = Functional.BatchNorm(TestData.Float64(x, n, c, 2, 2), runningMean, runningVar, TestData.Float64(gamma, c),
                                     TestData.Float64(beta, c), training: false);
        Expect.Close(expected, y, Tight, 0, [n, c, 2, 2]);
        Expect.Close(mean0, runningMean, 0);
        Expect.Close(var0, runningVar, 0);
    }

    [Fact]
    public void BatchNorm2dModuleTrainsWithBatchStatisticsAndEvaluatesWithRunningOnes()
    {
        using var scope = Torch.NewDisposeScope();
        const int n = 4, c = 2, hw = 9;
        var x = TestData.RoundToFloat32(ChannelData(62, n, c, hw));
        Func<int, int> channel = i => i / hw % c;
        using var bn = new BatchNorm2d(c, momentum: 0.1);
        using (Torch.NoGrad())
        {
            bn.Weight.CopyFrom(TestData.Float32([2, 0.5], c));
            bn.Bias.CopyFrom(TestData.Float32([-1, 1], c));
        }
        var input = TestData.Float32(x, n, c, 3, 3);

        var (normalized, mean, variance, count) = Standardize(x, channel, c);
        Expect.Close(Affine(normalized, [2, 0.5], [-1, 1], channel), bn.Forward(input), 1e-5, 1e-5, [n, c, 3, 3]);
        var runningMean = mean.Select(m => 0.1 * m).ToArray();
        var runningVar = variance.Select((v, k) => 0.9 + 0.1 * v * count[k] / (count[k] - 1)).ToArray();
        Expect.Close(runningMean, bn.RunningMean, 1e-6, 1e-5);
        Expect.Close(runningVar, bn.RunningVar, 1e-6, 1e-5);

        bn.Eval();
        var expected = x.Select((v, i) => (v - runningMean[channel(i)]) / Math.Sqrt(runningVar[channel(i)] + Eps) * (i / hw % c == 0 ? 2 : 0.5) + (i / hw % c == 0 ? -1 : 1)).ToArray();
        Expect.Close(expected, bn.Forward(input), 1e-5, 1e-5);
        Expect.Close(runningMean, bn.RunningMean, 1e-6, 1e-5);   // evaluation leaves them alone

        var e = Assert.Throws<ArgumentException>(() => bn.Forward(Torch.Zeros([2, 3, 4])));
        Assert.Contains("4D", e.Message);
    }

    [Fact]
    public void GroupNormNormalizesEachGroupOfChannelsPerExample()
    {
        using var scope = Torch.NewDisposeScope();
        const int n = 2, c = 6, hw = 6, groups = 3;
        var x = ChannelData(63, n, c, hw);
        var gamma = TestData.Uniform(64, c, 0.5, 2);
        var beta = TestData.Uniform(65, c);
        Func<int, int> channel = i => i / hw % c;
        var (normalized, _, _, count) = Standardize(x, i => i / (c * hw) * groups + channel(i) / (c / groups), n * groups);
        Assert.All(count, k => Assert.Equal(2 * hw, k));

        var y = Functional.GroupNorm(TestData.Float64(x, n, c, 3, 2), groups, TestData.Float64(gamma, c), TestData.Float64(beta, c), Eps);
        Expect.Close(Affine(normalized, gamma, beta, channel), y, Tight, 0, [n, c, 3, 2]);
        Expect.Close(normalized, Functional.GroupNorm(TestData.Float64(x, n, c, 3, 2), groups), Tight);
    }

    [Fact]
    public void InstanceNormNormalizesEachChannelOfEachExample()
    {
        using var scope = Torch.NewDisposeScope();
        const int n = 3, c = 2, hw = 12;
        var x = ChannelData(66, n, c, hw);
        double[] gamma = [0.5, 3], beta = [1, -2];
        Func<int, int> channel = i => i / hw % c;
        var (normalized, _, _, _) = Standardize(x, i => i / hw, n * c);

        var y = Functional.InstanceNorm(TestData.Float64(x, n, c, 4, 3), weight: TestData.Float64(gamma, c), bias: TestData.Float64(beta, c));
        Expect.Close(Affine(normalized, gamma, beta, channel), y, Tight, 0, [n, c, 4, 3]);
    }

    [Fact]
    public void InstanceNormRunningStatisticsAverageTheInstancesOverTheBatch()
    {
        using var scope = Torch.NewDisposeScope();
        const int n = 3, c = 2, hw = 12;
        const double momentum = 0.25;
        var x = ChannelData(67, n, c, hw);
        var (_, mean, variance, count) = Standardize(x, i => i / hw, n * c);
        var runningMean = TestData.Float64([0.5, -0.5], c);
        var runningVar = TestData.Float64([2, 1], c);
        Functional.InstanceNorm(TestData.Float64(x, n, c, 4, 3), runningMean, runningVar, momentum: momentum);

        var batchMean = Enumerable.Range(0, c).Select(k => Enumerable.Range(0, n).Average(b => mean[b * c + k])).ToArray();
        var batchVar = Enumerable.Range(0, c).Select(k => Enumerable.Range(0, n).Average(b => variance[b * c + k] * hw / (hw - 1.0))).ToArray();
        Assert.All(count, k => Assert.Equal(hw, k));
        Expect.Close([(1 - momentum) * 0.5 + momentum * batchMean[0], (1 - momentum) * -0.5 + momentum * batchMean[1]], runningMean, Tight);
        Expect.Close([(1 - momentum) * 2 + momentum * batchVar[0], (1 - momentum) * 1 + momentum * batchVar[1]], runningVar, Tight);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void LayerNormNormalizesOverTheTrailingDimensions(int normalizedDims)
    {
        using var scope = Torch.NewDisposeScope();
        long[] shape = [2, 3, 4];
        long[] normalizedShape = shape[^normalizedDims..];
        var size = (int)normalizedShape.Aggregate(1L, (a, b) => a * b);
        var x = TestData.Uniform(68 + normalizedDims, 24, -2, 5);
        var gamma = TestData.Uniform(70, size, 0.5, 2);
        var beta = TestData.Uniform(71, size);
        var (normalized, _, _, _) = Standardize(x, i => i / size, 24 / size);

        var y = Functional.LayerNorm(TestData.Float64(x, shape), normalizedShape, TestData.Float64(gamma, normalizedShape), TestData.Float64(beta, normalizedShape));
        Expect.Close(Affine(normalized, gamma, beta, i => i % size), y, Tight, 0, shape);
        Expect.Close(normalized, Functional.LayerNorm(TestData.Float64(x, shape), normalizedShape), Tight);
    }
}
