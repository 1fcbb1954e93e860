using MLNetNormalization.Normalization;
using MLNetNormalization.TorchBinding.NN;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>LayerNorm on conv features: libtorch's group_norm with one group (per-channel affine), and layer_norm over [C, H, W].</summary>
public class LayerNormTests
{
    [Theory]
    [InlineData(ScalarType.Float64, 1e-10)]
    [InlineData(ScalarType.Float32, 1e-5)]
    public void TrainingIsGroupNormWithOneGroupAndAPerChannelAffine(ScalarType type, double tolerance)
    {
        using var scope = Torch.NewDisposeScope();
        using var generator = new Generator(61);
        using var layer = WithRandomAffine(new LayerNorm(5), generator);
        layer.To(type);
        AssertMatchesOracle(layer, RandomInput(generator, [4, 5, 3, 4], scale: 3, offset: 2, type: type),
            (x, gamma, beta) => Functional.GroupNorm(x, 1, gamma, beta), tolerance, tolerance);
    }

    [Fact]
    public void WithoutAffineItIsLayerNormOverChannelsAndPixels()
    {
        using var scope = Torch.NewDisposeScope();
        using var generator = new Generator(62);
        using var layer = InFloat64(new LayerNorm(5));
        var input = RandomInput(generator, [4, 5, 3, 4], scale: 3, offset: 2);
        var x = Leaf(input);
        var oracleX = Leaf(input);
        var y = layer.Forward(x);
        var expected = Functional.LayerNorm(oracleX, [5, 3, 4]);
        AssertClose(expected, y, 1e-10, 1e-10);
        var weights = RandomInput(generator, [4, 5, 3, 4]);
        y.Mul(weights).Sum().Backward();
        expected.Mul(weights).Sum().Backward();
        AssertClose(oracleX.Grad!, x.Grad!, 1e-10, 1e-10);
    }
}
