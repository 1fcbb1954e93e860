namespace MLNetNormalization.Tests.Binding;

/// <summary>Random creation, seeding, and generator state. Seeds the global generator, hence the collection.</summary>
[Collection(TestCollections.GlobalRandom)]
public class RandomTests
{
    [Fact]
    public void RandIsInTheHalfOpenUnitIntervalAndUniform()
    {
        using var scope = Torch.NewDisposeScope();
        using var generator = new Generator(1);
        var values = Torch.Rand([100_000], generator, ScalarType.Float64).ToArray<double>();
        Assert.All(values, v => Assert.InRange(v, 0.0, Math.BitDecrement(1.0)));
        // Mean 1/2 and variance 1/12; the standard error of the mean is ~0.0009.
        Assert.InRange(values.Average(), 0.49, 0.51);
        Assert.InRange(values.Select(v => (v - 0.5) * (v - 0.5)).Average(), 1 / 12.0 - 0.003, 1 / 12.0 + 0.003);
        // Each tenth of the interval gets about a tenth of the values.
        Assert.All(values.GroupBy(v => (int)(v * 10)), g => Assert.InRange(g.Count(), 9_500, 10_500));
    }

    [Fact]
    public void TheSameSeedGivesTheSameValuesAndAnotherSeedOthers()
    {
        using var scope = Torch.NewDisposeScope();
        using var first = new Generator(42);
        using var second = new Generator(42);
        using var other = new Generator(43);
        var a = Torch.Rand([50], first);
        Assert.True(a.Equal(Torch.Rand([50], second)));
        Assert.False(a.Equal(Torch.Rand([50], other)));
        // The generator advanced: its next draw differs from its first.
        Assert.False(a.Equal(Torch.Rand([50], first)));
    }

    [Fact]
    public void ManualSeedMakesTheGlobalStreamReproducible()
    {
        using var scope = Torch.NewDisposeScope();
        Torch.ManualSeed(7);
        var a = Torch.Randn([20]);
        Torch.ManualSeed(7);
        var b = Torch.Randn([20]);
        Assert.True(a.Equal(b));
    }

    [Fact]
    public void AGeneratorSeededLikeTheGlobalOneDrawsTheSameStreamWithoutAdvancingIt()
    {
        using var scope = Torch.NewDisposeScope();
        Torch.ManualSeed(77);
        var globalFirst = Torch.Rand([10]);
        var globalSecond = Torch.Rand([10]);

        Torch.ManualSeed(77);
        using var generator = new Generator(77);
        Assert.True(globalFirst.Equal(Torch.Rand([10], generator)));
        // Drawing from the generator left the global stream where it was.
        Assert.True(globalFirst.Equal(Torch.Rand([10])));
        Assert.True(globalSecond.Equal(Torch.Rand([10])));
    }

    [Fact]
    public void RandnHasMeanZeroAndStandardDeviationOne()
    {
        using var scope = Torch.NewDisposeScope();
        using var generator = new Generator(2);
        var values = Torch.Randn([200_000], generator, ScalarType.Float64).ToArray<double>();
        var mean = values.Average();
        var std = TestData.StandardDeviation(values);
        // Standard errors: 0.0022 for the mean, 0.0016 for the standard deviation.
        Assert.InRange(mean, -0.015, 0.015);
        Assert.InRange(std, 0.985, 1.015);
        // About 68.3% within one standard deviation.
        Assert.InRange(values.Count(v => Math.Abs(v) < 1) / (double)values.Length, 0.675, 0.69);
    }

    [Fact]
    public void RandIntStaysInItsRangeAndReachesEveryValue()
    {
        using var scope = Torch.NewDisposeScope();
        using var generator = new Generator(3);
        var tensor = Torch.RandInt(-2, 3, [4, 2500], generator);
        Assert.Equal(ScalarType.Int64, tensor.Type);
        Assert.Equal([4L, 2500], tensor.Shape);
        var counts = tensor.ToArray<long>().GroupBy(v => v).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal([-2L, -1, 0, 1, 2], counts.Keys.Order());
        Assert.All(counts.Values, c => Assert.InRange(c, 1_800, 2_200));
    }

    [Fact]
    public void RandPermIsAShuffledPermutation()
    {
        using var scope = Torch.NewDisposeScope();
        using var generator = new Generator(4);
        var permutation = Torch.RandPerm(50, generator).ToArray<long>();
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), permutation.Order());
        Assert.NotEqual(Enumerable.Range(0, 50).Select(i => (long)i), permutation);
    }

    [Fact]
    public void GeneratorStateRestoresTheStream()
    {
        using var scope = Torch.NewDisposeScope();
        using var generator = new Generator(5);
        Torch.Rand([3], generator);
        var state = generator.GetState();
        var first = Torch.Randn([16], generator);
        var second = Torch.Randn([16], generator);
        Assert.False(first.Equal(second));

        generator.SetState(state);
        Assert.True(first.Equal(Torch.Randn([16], generator)));
        Assert.True(second.Equal(Torch.Randn([16], generator)));

        // The state carries the whole stream: another generator continues it.
        using var other = new Generator(999);
        other.SetState(state);
        Assert.True(first.Equal(Torch.Randn([16], other)));
    }

    [Fact]
    public void UniformAndNormalFillInPlaceFromAGenerator()
    {
        using var scope = Torch.NewDisposeScope();
        using var generator = new Generator(6);
        var uniform = Torch.Zeros([10_000], ScalarType.Float64);
        Assert.Same(uniform, uniform.Uniform(-3, -1, generator));
        var u = uniform.ToArray<double>();
        Assert.All(u, v => Assert.InRange(v, -3, -1));
        Assert.InRange(u.Average(), -2.03, -1.97);

        var normal = Torch.Zeros([10_000], ScalarType.Float64).Normal(5, 0.5, generator).ToArray<double>();
        Assert.InRange(normal.Average(), 4.97, 5.03);
        Assert.InRange(TestData.StandardDeviation(normal), 0.48, 0.52);
    }
}
