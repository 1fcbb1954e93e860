using MLNetNormalization.TorchBinding.NN;

namespace MLNetNormalization.Tests.Binding;

/// <summary>Weight initialisation: fans, bounds and spreads, seeded by a generator, on parameters that require grad.</summary>
public class InitTests
{
    private static Tensor Parameter(params long[] shape)
    {
        var parameter = Torch.Zeros(shape, ScalarType.Float64);
        parameter.RequiresGrad = true;
        return parameter;
    }

    [Fact]
    public void FansCountTheConnectionsOfAWeight()
    {
        using var scope = Torch.NewDisposeScope();
        var conv = Torch.Zeros([8, 4, 3, 2]);
        var linear = Torch.Zeros([5, 7]);
        Assert.Equal(4 * 3 * 2, Init.FanIn(conv));
        Assert.Equal(8 * 3 * 2, Init.FanOut(conv));
        Assert.Equal(7, Init.FanIn(linear));
        Assert.Equal(5, Init.FanOut(linear));
        Assert.Contains("rank >= 2", Assert.Throws<ArgumentException>(() => Init.FanIn(Torch.Zeros([3]))).Message);
        Assert.Throws<ArgumentException>(() => Init.FanOut(Torch.Zeros([3])));
    }

    [Fact]
    public void KaimingUniformStaysWithinItsBoundAndFillsIt()
    {
        using var scope = Torch.NewDisposeScope();
        using var generator = new Generator(180);
        var weight = Parameter(64, 32, 3, 3);   // fan-in 288
        const double a = 0.5;
        var bound = Math.Sqrt(6 / ((1 + a * a) * 288));
        Assert.Same(weight, Init.KaimingUniform(weight, a, generator));
        Assert.True(weight.IsLeaf);
        var values = weight.ToArray<double>();
        Assert.All(values, v => Assert.InRange(v, -bound, bound));
        // Uniform on [-b, b] has standard deviation b/√3.
        Expect.Close(bound / Math.Sqrt(3), TestData.StandardDeviation(values), 0, 0.02);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void KaimingNormalHasStandardDeviationRootTwoOverFan(bool fanOut)
    {
        using var scope = Torch.NewDisposeScope();
        using var generator = new Generator(181);
        var weight = Parameter(128, 64, 3, 3);
        Init.KaimingNormal(weight, fanOut, generator);
        var fan = fanOut ? 128 * 9 : 64 * 9;
        var values = weight.ToArray<double>();
        Expect.Close(Math.Sqrt(2.0 / fan), TestData.StandardDeviation(values), 0, 0.02);
        Assert.InRange(values.Average(), -0.002, 0.002);
    }

    [Fact]
    public void UniformNormalAndConstantFillInPlaceWithoutRecordingGradients()
    {
        using var scope = Torch.NewDisposeScope();
        using var generator = new Generator(182);
        var p = Parameter(1000);
        Assert.Same(p, Init.Uniform(p, 2, 3, generator));
        Assert.All(p.ToArray<double>(), v => Assert.InRange(v, 2, 3));
        Assert.Same(p, Init.Normal(p, -4, 0.1, generator));
        Expect.Close(-4, p.ToArray<double>().Average(), 0.02);
        Assert.Same(p, Init.Constant(p, 0.25));
        Assert.All(p.ToArray<double>(), v => Assert.Equal(0.25, v));
        Assert.True(p.IsLeaf);
        Assert.True(p.RequiresGrad);
        Assert.Null(p.Grad);
    }

    [Fact]
    public void TheSameGeneratorSeedGivesTheSameInitialisation()
    {
        using var scope = Torch.NewDisposeScope();
        var first = Parameter(10, 10);
        var second = Parameter(10, 10);
        using (var generator = new Generator(183)) Init.KaimingUniform(first, generator: generator);
        using (var generator = new Generator(183)) Init.KaimingUniform(second, generator: generator);
        Assert.True(first.Equal(second));
    }
}
