using MLNetNormalization.Normalization;
using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Tests.Support;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>Parameters and running statistics round-trip through Save and Load bit for bit, and so do eval outputs.</summary>
public class NormalizationStateTests
{
    [Theory]
    [MemberData(nameof(LayerCatalog.All), MemberType = typeof(LayerCatalog))]
    public void SaveThenLoadIntoAFreshLayerRestoresTheStateBitForBit(string name)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(141);
        using var directory = new TempDirectory();
        using var trained = WithRandomAffine(LayerCatalog.Build(name), generator);
        TrainSteps(trained, generator, [6, 4, 3, 3]);
        var path = directory.File($"{name}.tensors");
        trained.save(path);

        using var loaded = LayerCatalog.Build(name);
        loaded.load(path);
        var expected = trained.state_dict();
        var actual = loaded.state_dict();
        Assert.Equal(expected.Select(s => s.Key), actual.Select(s => s.Key));
        Assert.Contains(expected, s => s.Key.EndsWith("running_var", StringComparison.Ordinal));
        foreach (var ((_, e), (_, a)) in expected.Zip(actual)) AssertIdentical(e, a);
        // The running statistics moved away from their initial values, so the round trip proves something.
        var runningMean = expected.First(s => s.Key.EndsWith("running_mean", StringComparison.Ordinal)).Value;
        Assert.Contains(TestData.Values(runningMean), v => Math.Abs(v) > 0.1);

        trained.eval();
        loaded.eval();
        trained.Alpha = loaded.Alpha = 0.5;   // running and example statistics both count
        var input = RandomInput(generator, [3, 4, 3, 3], scale: 2, type: ScalarType.Float32);
        AssertIdentical(trained.forward(input), loaded.forward(input));
    }

    [Fact]
    public void AStateOfAnotherGroupingIsRejectedByTorchSharpsLoad()
    {
        using var directory = new TempDirectory();
        using var twoGroups = new ExtendedNorm(4, groups: 2);
        var path = directory.File("en2.tensors");
        twoGroups.save(path);
        using var oneGroup = new ExtendedNorm(4, groups: 1);
        var error = Assert.ThrowsAny<Exception>(() => oneGroup.load(path));
        Assert.Contains("Mismatched tensor shape", error.Message);

        using var heterologous = new HeterologousNorm(4, PixelSet.Batch, PixelSet.Extended(2));
        error = Assert.ThrowsAny<Exception>(() => heterologous.load(path));
        Assert.Contains("Mismatched state_dict sizes", error.Message);
    }
}
