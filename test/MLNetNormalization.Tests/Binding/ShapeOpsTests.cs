using MLNetNormalization.TorchBinding.NN;

namespace MLNetNormalization.Tests.Binding;

/// <summary>Views, layout changes, slicing, gathering, joining and padding, against index arithmetic.</summary>
public class ShapeOpsTests
{
    /// <summary>0, 1, ..., 23 as a float64 (2, 3, 4) tensor, so every value names its own row-major position.</summary>
    private static Tensor Positions() => Torch.Arange(0, 24, type: ScalarType.Float64).Reshape(2, 3, 4);

    private static double[] Range(int count) => Enumerable.Range(0, count).Select(i => (double)i).ToArray();

    [Fact]
    public void ReshapeAndViewKeepRowMajorOrder()
    {
        using var scope = Torch.NewDisposeScope();
        var x = Positions();
        Expect.Close(Range(24), x.Reshape(4, 6), 0, 0, [4, 6]);
        Expect.Close(Range(24), x.Reshape(-1, 8), 0, 0, [3, 8]);
        Expect.Close(Range(24), x.View(6, 4), 0, 0, [6, 4]);
        Expect.Close(Range(24), x.View(24), 0, 0, [24]);
    }

    [Fact]
    public void AViewSharesStorageWithItsBase()
    {
        using var scope = Torch.NewDisposeScope();
        var x = Positions();
        var view = x.View(24);
        view.Fill(-1);
        Assert.All(x.ToArray<double>(), v => Assert.Equal(-1, v));
        x.Narrow(0, 1, 1).Fill(5);
        Expect.Close(Enumerable.Repeat(-1.0, 12).Concat(Enumerable.Repeat(5.0, 12)).ToArray(), view, 0);
    }

    [Fact]
    public void PermuteMovesDimensions()
    {
        using var scope = Torch.NewDisposeScope();
        var permuted = Positions().Permute(2, 0, 1);   // result[k, i, j] = x[i, j, k]
        var expected = new double[24];
        for (var k = 0; k < 4; k++)
            for (var i = 0; i < 2; i++)
                for (var j = 0; j < 3; j++)
                    expected[k * 6 + i * 3 + j] = i * 12 + j * 4 + k;
        Expect.Close(expected, permuted, 0, 0, [4, 2, 3]);
    }

    [Fact]
    public void TransposeIsANonContiguousViewUntilContiguousCopiesIt()
    {
        using var scope = Torch.NewDisposeScope();
        var x = Torch.Arange(0, 6, type: ScalarType.Float64).Reshape(2, 3);
        var transposed = x.Transpose(0, 1);
        Assert.Equal([3L, 2], transposed.Shape);
        Assert.False(transposed.IsContiguous);
        Expect.Close([0, 3, 1, 4, 2, 5], transposed, 0);

        var contiguous = transposed.Contiguous();
        Assert.True(contiguous.IsContiguous);
        Expect.Close([0, 3, 1, 4, 2, 5], contiguous.View(6), 0);
        // The transpose is a view, the contiguous tensor a copy.
        x.Fill(1);
        Expect.Close([1, 1, 1, 1, 1, 1], transposed, 0);
        Expect.Close([0, 3, 1, 4, 2, 5], contiguous, 0);
    }

    [Fact]
    public void ExpandBroadcastsSizeOneDimensions()
    {
        using var scope = Torch.NewDisposeScope();
        var column = TestData.Float64([1, 2, 3], 3, 1);
        Expect.Close([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3], column.Expand(3, 4), 0, 0, [3, 4]);
        Expect.Close([1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3], column.Expand(2, -1, 2), 0, 0, [2, 3, 2]);
    }

    [Fact]
    public void SqueezeUnsqueezeAndFlattenChangeOnlyTheShape()
    {
        using var scope = Torch.NewDisposeScope();
        var x = Positions();
        var unsqueezed = x.Unsqueeze(1);
        Assert.Equal([2L, 1, 3, 4], unsqueezed.Shape);
        Assert.Equal([2L, 3, 4, 1], x.Unsqueeze(-1).Shape);
        Assert.Equal([2L, 3, 4], unsqueezed.Squeeze(1).Shape);
        Assert.Equal([2L, 3, 4], x.Squeeze(0).Shape);   // not of size 1: unchanged
        Expect.Close(Range(24), x.Flatten(), 0, 0, [24]);
        Expect.Close(Range(24), x.Flatten(1), 0, 0, [2, 12]);
        Expect.Close(Range(24), x.Flatten(0, 1), 0, 0, [6, 4]);
    }

    [Fact]
    public void NarrowAndSliceSelectRanges()
    {
        using var scope = Torch.NewDisposeScope();
        var x = Positions();
        // x[:, 1:3, :]
        Expect.Close([4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23], x.Narrow(1, 1, 2), 0, 0, [2, 2, 4]);
        var line = Torch.Arange(0, 10, type: ScalarType.Float64);
        Expect.Close([1, 4, 7], line.Slice(0, 1, 8, 3), 0, 0, [3]);
        Expect.Close([2, 3, 4], line.Slice(0, 2, 5), 0, 0, [3]);
        // x[:, :, 1::2]
        Expect.Close([1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23], x.Slice(2, 1, 4, 2), 0, 0, [2, 3, 2]);
    }

    [Fact]
    public void IndexSelectGathersAndRepeatsRows()
    {
        using var scope = Torch.NewDisposeScope();
        var x = Torch.Arange(0, 6, type: ScalarType.Float64).Reshape(3, 2);
        var index = Tensor.FromArray(new long[] { 2, 0, 2 });
        Expect.Close([4, 5, 0, 1, 4, 5], x.IndexSelect(0, index), 0, 0, [3, 2]);
        Expect.Close([1, 0, 3, 2, 5, 4], x.IndexSelect(1, Tensor.FromArray(new long[] { 1, 0 })), 0, 0, [3, 2]);
    }

    [Fact]
    public void FlipReversesTheGivenDimensions()
    {
        using var scope = Torch.NewDisposeScope();
        var x = Torch.Arange(0, 6, type: ScalarType.Float64).Reshape(2, 3);
        Expect.Close([2, 1, 0, 5, 4, 3], x.Flip(1), 0, 0, [2, 3]);
        Expect.Close([3, 4, 5, 0, 1, 2], x.Flip(0), 0, 0, [2, 3]);
        Expect.Close([5, 4, 3, 2, 1, 0], x.Flip(0, 1), 0, 0, [2, 3]);
    }

    [Fact]
    public void CatJoinsAlongAnExistingDimension()
    {
        using var scope = Torch.NewDisposeScope();
        var a = TestData.Float64([1, 2, 3, 4], 2, 2);
        var b = TestData.Float64([5, 6], 1, 2);
        var c = TestData.Float64([7, 8], 2, 1);
        Expect.Close([1, 2, 3, 4, 5, 6], Torch.Cat([a, b]), 0, 0, [3, 2]);
        Expect.Close([1, 2, 7, 3, 4, 8], Torch.Cat([a, c], 1), 0, 0, [2, 3]);
        Expect.Close([1, 2, 7, 1, 3, 4, 8, 3], Torch.Cat([a, c, a.Narrow(1, 0, 1)], -1), 0, 0, [2, 4]);
    }

    [Fact]
    public void StackJoinsAlongANewDimension()
    {
        using var scope = Torch.NewDisposeScope();
        var a = TestData.Float64([1, 2, 3], 3);
        var b = TestData.Float64([4, 5, 6], 3);
        Expect.Close([1, 2, 3, 4, 5, 6], Torch.Stack([a, b]), 0, 0, [2, 3]);
        Expect.Close([1, 4, 2, 5, 3, 6], Torch.Stack([a, b], 1), 0, 0, [3, 2]);
    }

    [Fact]
    public void PadAddsConstantBordersFromTheLastDimensionBackwards()
    {
        using var scope = Torch.NewDisposeScope();
        var x = TestData.Float64([1, 2, 3, 4], 2, 2);
        Expect.Close([0, 1, 2, 0, 0, 0, 3, 4, 0, 0], Functional.Pad(x, [1, 2]), 0, 0, [2, 5]);
        // Last dimension (0 before, 1 after), then the first (1 before, 0 after), filled with 9.
        Expect.Close([9, 9, 9, 1, 2, 9, 3, 4, 9], Functional.Pad(x, [0, 1, 1, 0], 9), 0, 0, [3, 3]);
        // Negative padding crops.
        Expect.Close([2, 4], Functional.Pad(x, [-1, 0]), 0, 0, [2, 1]);
    }
}
