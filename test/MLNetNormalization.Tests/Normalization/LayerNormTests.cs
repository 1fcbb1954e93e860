using MLNetNormalization.Normalization;
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
        using var scope = NewDisposeScope();
        using var generator = new Generator(61);
        using var layer = WithRandomAffine(new LayerNorm(5), generator);
        layer.to(type);
        AssertMatchesOracle(layer, RandomInput(generator, [4, 5, 3, 4], scale: 3, offset: 2, type: type),
            (x, gamma, beta) => nn.functional.group_norm(x, 1, gamma, beta), tolerance, tolerance);
    }

    [Fact]
    public void WithoutAffineItIsLayerNormOverChannelsAndPixels()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(62);
        using var layer = InFloat64(new LayerNorm(5));
        var input = RandomInput(generator, [4, 5, 3, 4], scale: 3, offset: 2);
        var x = Leaf(input);
        var oracleX = Leaf(input);
        var y = layer.forward(x);
        var expected = nn.functional.layer_norm(oracleX, [5, 3, 4]);
        AssertClose(expected, y, 1e-10, 1e-10);
        var weights = RandomInput(generator, [4, 5, 3, 4]);
        y.mul(weights).sum().backward();
        expected.mul(weights).sum().backward();
        AssertClose(oracleX.grad!, x.grad!, 1e-10, 1e-10);
    }
}
