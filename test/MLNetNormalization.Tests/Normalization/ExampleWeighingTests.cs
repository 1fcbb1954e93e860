using MLNetNormalization.Normalization;
using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Tests.Support;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>
/// Inference example weighing (docs/normalizers.md, section 2): eval statistics mu = a·m + (1-a)·rm,
/// var = a(v + m²) + (1-a)(rv + rm²) - mu², checked against the formula in float64 C# for every layer,
/// with its identities (a = 0: running statistics only, a = 1: the example's own) and default alphas.
/// </summary>
public class ExampleWeighingTests
{
    private static readonly long[] TrainingShape = [6, 4, 3, 3];

    public static TheoryData<string, double> LayersAndAlphas()
    {
        var data = new TheoryData<string, double>();
        foreach (var name in LayerCatalog.Names)
            foreach (var alpha in new[] { 0, 0.35, 1 })
                data.Add(name, alpha);
        return data;
    }

    [Theory]
    [MemberData(nameof(LayersAndAlphas))]
    public void EvalStatisticsFollowTheSpecFormula(string name, double alpha)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(31);
        using var layer = WithRandomAffine(InFloat64(LayerCatalog.Build(name)), generator);
        TrainSteps(layer, generator, TrainingShape);
        layer.eval();
        layer.Alpha = alpha;
        var input = RandomInput(generator, [3, 4, 3, 3], scale: 3, offset: -1);
        var y = layer.forward(input);

        var reference = new PixelSetReference(TestData.Values(input), 3, 4, 3, 3);
        double[] mean, var;
        if (name == "hn")
        {
            // (BN, EN2): the mean mixes the example's own channel means with the per-channel running mean;
            // the variance mixes the example's own group moments with the per-group running ones.
            (mean, _) = reference.MixedCellStatistics(4, Values(layer, "mean_set_running_mean"), Values(layer, "mean_set_running_var"), alpha);
            (_, var) = reference.MixedCellStatistics(2, Values(layer, "std_set_running_mean"), Values(layer, "std_set_running_var"), alpha);
        }
        else
        {
            var groups = LayerCatalog.Groups(name);
            var (runningMean, runningVar) = name == "en"
                ? (Values(layer, "running_mean"), Values(layer, "running_var"))   // per group already
                : PixelSetReference.GroupAverage(Values(layer, "running_mean"), Values(layer, "running_var"), groups);
            (mean, var) = reference.MixedCellStatistics(groups, runningMean, runningVar, alpha);
        }
        var expected = reference.Normalize(mean, var, TestData.Values(layer.Weight), TestData.Values(layer.Bias));
        Expect.Close(expected, y, 1e-10, 1e-10, [3, 4, 3, 3]);
    }

    [Theory]
    [InlineData("gn")]
    [InlineData("ln")]
    [InlineData("in")]
    [InlineData("bgn")]
    public void AlphaOneGivesThePerExampleTrainingOutput(string name)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(32);
        using var layer = WithRandomAffine(InFloat64(LayerCatalog.Build(name)), generator);
        TrainSteps(layer, generator, TrainingShape);
        layer.eval();
        layer.Alpha = 1;
        var input = RandomInput(generator, [4, 4, 3, 3], scale: 2, offset: 3);
        var evalOutput = layer.forward(input);
        // BGN with one example per group is GN; the others are their own training behaviour.
        var groups = name == "bgn" ? 2 : LayerCatalog.Groups(name);
        var expected = nn.functional.group_norm(input, groups, layer.Weight, layer.Bias);
        AssertClose(expected, evalOutput, 1e-10, 1e-10);
        if (name != "bgn")
        {
            layer.train();
            AssertClose(layer.forward(input), evalOutput, 1e-12, 1e-12);
        }
    }

    [Fact]
    public void AlphaZeroOnBatchNormIsLibtorchsEval()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(33);
        using var layer = WithRandomAffine(InFloat64(new BatchNorm(4)), generator);
        TrainSteps(layer, generator, TrainingShape);
        layer.eval();
        layer.Alpha = 0;
        var input = RandomInput(generator, [3, 4, 3, 3], scale: 3);
        var expected = nn.functional.batch_norm(input, layer.Running.Mean, layer.Running.Var, layer.Weight, layer.Bias, training: false);
        AssertClose(expected, layer.forward(input), 1e-12, 1e-12);
    }

    [Theory]
    [InlineData("bn", 0.0)]
    [InlineData("ghost", 0.0)]
    [InlineData("en", 0.0)]
    [InlineData("hn", 0.0)]
    [InlineData("gn", 1.0)]
    [InlineData("ln", 1.0)]
    [InlineData("in", 1.0)]
    [InlineData("bgn", 0.5)]   // 1/B_g with B_g = 2
    public void DefaultAlphaIsTheLayersOwn(string name, double expected)
    {
        using var layer = LayerCatalog.Build(name);
        Assert.Equal(expected, layer.Alpha);
        Assert.Equal(expected, layer.DefaultAlpha);
        Assert.True(layer.HasRunningStatistics);
    }

    [Fact]
    public void BatchGroupNormDefaultAlphaIsOneOverExamplesPerGroup()
    {
        using var four = new BatchGroupNorm(4, 2, 4);
        using var one = new BatchGroupNorm(4, 2, 1);
        Assert.Equal(0.25, four.Alpha);
        Assert.Equal(1, one.Alpha);
    }

    [Fact]
    public void AlphaChangesNothingInTraining()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(34);
        using var weighted = InFloat64(new BatchNorm(4));
        using var plain = InFloat64(new BatchNorm(4));
        weighted.Alpha = 0.6;
        var input = RandomInput(generator, TrainingShape);
        AssertIdentical(plain.forward(input), weighted.forward(input));
        AssertIdentical(plain.Running.Var, weighted.Running.Var);
    }

    private static double[] Values(NormalizationLayer layer, string buffer) => TestData.Values(Buffer(layer, buffer));
}
