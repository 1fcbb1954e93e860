namespace MLNetNormalization.Tests.Binding;

/// <summary>Sums, means, variances, extremes and matrix products against loops in C#.</summary>
public class ReductionTests
{
    // x[i, j, k] of a (2, 3, 4) tensor, row-major.
    private static readonly double[] Cube = TestData.Uniform(20, 24, -3, 3);

    private static double At(int i, int j, int k) => Cube[i * 12 + j * 4 + k];

    [Fact]
    public void SumAndMeanOverEveryDimension()
    {
        using var scope = Torch.NewDisposeScope();
        var x = TestData.Float64(Cube, 2, 3, 4);
        var sum = x.Sum();
        Assert.Equal(0, sum.Rank);
        Expect.Close(Cube.Sum(), sum.Item<double>(), 1e-12);
        Expect.Close(Cube.Sum() / 24, x.Mean().Item<double>(), 1e-12);
    }

    [Fact]
    public void SumAndMeanOverOneDimensionWithAndWithoutKeepDim()
    {
        using var scope = Torch.NewDisposeScope();
        var x = TestData.Float64(Cube, 2, 3, 4);
        var expected = new double[8];
        for (var i = 0; i < 2; i++)
            for (var k = 0; k < 4; k++)
                for (var j = 0; j < 3; j++)
                    expected[i * 4 + k] += At(i, j, k);

        Expect.Close(expected, x.Sum([1]), 1e-12, 0, [2, 4]);
        Expect.Close(expected, x.Sum([1], keepDim: true), 1e-12, 0, [2, 1, 4]);
        Expect.Close(expected.Select(v => v / 3).ToArray(), x.Mean([1]), 1e-12, 0, [2, 4]);
        Expect.Close(expected.Select(v => v / 3).ToArray(), x.Mean([-2], keepDim: true), 1e-12, 0, [2, 1, 4]);
    }

    [Fact]
    public void SumAndMeanOverTwoDimensions()
    {
        using var scope = Torch.NewDisposeScope();
        var x = TestData.Float64(Cube, 2, 3, 4);
        var expected = new double[3];
        for (var j = 0; j < 3; j++)
            for (var i = 0; i < 2; i++)
                for (var k = 0; k < 4; k++)
                    expected[j] += At(i, j, k);
        Expect.Close(expected, x.Sum([0, 2]), 1e-12, 0, [3]);
        Expect.Close(expected.Select(v => v / 8).ToArray(), x.Mean([0, 2], keepDim: true), 1e-12, 0, [1, 3, 1]);
    }

    /// <summary>Two-pass variance in float64: Σ(x - mean)² / (n - correction).</summary>
    private static (double Variance, double Mean) TwoPass(IReadOnlyList<double> values, int correction)
    {
        var mean = values.Sum() / values.Count;
        var squares = values.Sum(v => (v - mean) * (v - mean));
        return (squares / (values.Count - correction), mean);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void VarMeanMatchesATwoPassComputation(int correction)
    {
        using var scope = Torch.NewDisposeScope();
        // An offset much larger than the spread: a naive one-pass E[x²] - E[x]² in float32 would fail here.
        var values = TestData.RoundToFloat32(TestData.Uniform(21 + correction, 15, -1, 1).Select(v => 100 + v).ToArray());
        var x = TestData.Float32(values, 3, 5);

        var rows = Enumerable.Range(0, 3).Select(r => TwoPass(values.Skip(r * 5).Take(5).ToList(), correction)).ToArray();
        var (variance, mean) = x.VarMean([1], correction);
        Expect.Close(rows.Select(r => r.Variance).ToArray(), variance, 1e-5, 1e-4, [3]);
        Expect.Close(rows.Select(r => r.Mean).ToArray(), mean, 0, 5e-7, [3]);

        var (keptVariance, keptMean) = x.VarMean([1], correction, keepDim: true);
        Assert.Equal([3L, 1], keptVariance.Shape);
        Assert.Equal([3L, 1], keptMean.Shape);

        var columns = Enumerable.Range(0, 5).Select(c => TwoPass([values[c], values[5 + c], values[10 + c]], correction)).ToArray();
        var (columnVariance, columnMean) = x.VarMean([0], correction);
        Expect.Close(columns.Select(c => c.Variance).ToArray(), columnVariance, 1e-5, 1e-4, [5]);
        Expect.Close(columns.Select(c => c.Mean).ToArray(), columnMean, 0, 5e-7, [5]);

        var all = TwoPass(values, correction);
        var (allVariance, allMean) = x.VarMean(correction: correction);
        Assert.Equal(0, allVariance.Rank);
        Expect.Close(all.Variance, allVariance.Item<float>(), 1e-5, 1e-4);
        Expect.Close(all.Mean, allMean.Item<float>(), 0, 5e-7);
    }

    [Fact]
    public void VarMeanCorrectionsDifferByTheirDenominators()
    {
        using var scope = Torch.NewDisposeScope();
        var x = TestData.Float64([2, 4, 4, 4, 5, 5, 7, 9], 8);
        // Hand-computed: mean 5, squared deviations sum to 32.
        var (biased, mean) = x.VarMean(correction: 0);
        var (unbiased, _) = x.VarMean(correction: 1);
        Assert.Equal(5, mean.Item<double>());
        Assert.Equal(4, biased.Item<double>());
        Expect.Close(32 / 7.0, unbiased.Item<double>(), 1e-15);
    }

    [Fact]
    public void MaxMinArgMaxAndMaxOverADimension()
    {
        using var scope = Torch.NewDisposeScope();
        double[] values = [3, -1, 7, 2, 9, -5, 0, 4, 1];
        var x = TestData.Float64(values, 3, 3);
        Assert.Equal(9, x.Max().Item<double>());
        Assert.Equal(-5, x.Min().Item<double>());

        var (rowMax, rowIndex) = x.Max(1);
        Expect.Close([7, 9, 4], rowMax, 0, 0, [3]);
        Assert.Equal([2L, 1, 1], rowIndex.ToArray<long>());
        var (columnMax, columnIndex) = x.Max(0, keepDim: true);
        Expect.Close([3, 9, 7], columnMax, 0, 0, [1, 3]);
        Assert.Equal([0L, 1, 0], columnIndex.ToArray<long>());

        Assert.Equal([2L, 1, 1], x.ArgMax(1).ToArray<long>());
        Assert.Equal([3L, 1], x.ArgMax(1, keepDim: true).Shape);
        Assert.Equal([0L, 1, 0], x.ArgMax(0).ToArray<long>());
    }

    [Fact]
    public void TopKReturnsTheLargestOrSmallestInOrder()
    {
        using var scope = Torch.NewDisposeScope();
        var x = TestData.Float64([3, -1, 7, 2, 9, -5, 0, 4, 1, 8], 2, 5);
        var (values, indices) = x.TopK(2);
        Expect.Close([9, 7, 8, 4], values, 0, 0, [2, 2]);
        Assert.Equal([4L, 2, 4, 2], indices.ToArray<long>());

        var (smallest, smallestIndices) = x.TopK(3, largest: false);
        Expect.Close([-1, 2, 3, -5, 0, 1], smallest, 0, 0, [2, 3]);
        Assert.Equal([1L, 3, 0, 0, 1, 3], smallestIndices.ToArray<long>());

        var (columnTop, columnIndices) = x.TopK(1, dim: 0);
        Expect.Close([3, 0, 7, 2, 9], columnTop, 0, 0, [1, 5]);
        Assert.Equal([0L, 1, 0, 0, 0], columnIndices.ToArray<long>());
    }

    [Fact]
    public void MatMulMatchesAHandLoop()
    {
        using var scope = Torch.NewDisposeScope();
        var a = TestData.Uniform(22, 12);
        var b = TestData.Uniform(23, 20);
        var expected = new double[15];
        for (var i = 0; i < 3; i++)
            for (var j = 0; j < 5; j++)
                for (var k = 0; k < 4; k++)
                    expected[i * 5 + j] += a[i * 4 + k] * b[k * 5 + j];
        Expect.Close(expected, TestData.Float64(a, 3, 4).MatMul(TestData.Float64(b, 4, 5)), 1e-14, 0, [3, 5]);
    }

    [Fact]
    public void MatMulBroadcastsOverABatchAndHandlesVectors()
    {
        using var scope = Torch.NewDisposeScope();
        var batch = TestData.Float64([1, 2, 3, 4, 5, 6, 7, 8], 2, 2, 2);
        var matrix = TestData.Float64([1, 10, 100, 1000], 2, 2);
        // [[1,2],[3,4]]·M and [[5,6],[7,8]]·M.
        Expect.Close([201, 2010, 403, 4030, 605, 6050, 807, 8070], batch.MatMul(matrix), 0, 0, [2, 2, 2]);
        var vector = TestData.Float64([1, -1], 2);
        Expect.Close([-9, -900], matrix.MatMul(vector), 0, 0, [2]);
        Assert.Equal(-2, vector.MatMul(vector.Flip(0)).Item<double>());
    }
}
