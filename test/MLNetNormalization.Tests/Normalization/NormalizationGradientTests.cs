using MLNetNormalization.Normalization;
using MLNetNormalization.Normalization.Core;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>
/// Float64 gradchecks (central differences) of the input, gamma and beta gradients of every layer, in
/// training and in eval, including eval with 0 &lt; alpha &lt; 1, where the output depends on the example's own moments.
/// </summary>
public class NormalizationGradientTests
{
    private static readonly string[] Affine = ["weight", "bias"];

    [Theory]
    [MemberData(nameof(LayerCatalog.All), MemberType = typeof(LayerCatalog))]
    public void TrainingGradientsMatchFiniteDifferences(string name)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(101);
        using var layer = WithRandomAffine(InFloat64(LayerCatalog.Build(name)), generator);
        AssertLayerGradientsMatch(layer, RandomInput(generator, [4, 4, 3, 3], scale: 2, offset: 1), Affine);
    }

    public static TheoryData<string, double> EvalCases()
    {
        var data = new TheoryData<string, double>();
        foreach (var name in LayerCatalog.Names) data.Add(name, 0.4);
        data.Add("bn", 0.85);
        data.Add("gn", 0.15);
        data.Add("bn", 0);
        data.Add("hn", 0);
        return data;
    }

    [Theory]
    [MemberData(nameof(EvalCases))]
    public void EvalGradientsMatchFiniteDifferences(string name, double alpha)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(102);
        using var layer = WithRandomAffine(InFloat64(LayerCatalog.Build(name)), generator);
        TrainSteps(layer, generator, [4, 4, 3, 3]);
        layer.eval();
        layer.Alpha = alpha;
        AssertLayerGradientsMatch(layer, RandomInput(generator, [2, 4, 3, 3], scale: 2, offset: 2), Affine);   // eval is per example: two suffice
    }

    public static TheoryData<string, string> HeterologousPairs() => new()
    {
        { "in", "ln" }, { "gn2", "en2" }, { "ln", "bn" }, { "en1", "in" }, { "en2", "gn2" },
    };

    [Theory]
    [MemberData(nameof(HeterologousPairs))]
    public void HeterologousPairGradientsMatchFiniteDifferences(string meanName, string stdName)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(103);
        using var layer = WithRandomAffine(InFloat64(new HeterologousNorm(4, Parse(meanName), Parse(stdName))), generator);
        var input = RandomInput(generator, [4, 4, 3, 3], scale: 2, offset: 1, channelSpread: 1.5);
        AssertLayerGradientsMatch(layer, input, Affine);
        if (!layer.HasRunningStatistics) return;
        layer.eval();
        layer.Alpha = 0.3;
        AssertLayerGradientsMatch(layer, input, Affine);
    }

    [Theory]
    [InlineData(5, 2)]   // chunks 2 and 3 (one example joins the chunk before)
    [InlineData(5, 3)]   // chunks 3 and 2
    public void GhostWithUnevenChunksGradientsMatchFiniteDifferences(int n, int ghostSize)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(104);
        using var layer = WithRandomAffine(InFloat64(new GhostBatchNorm(4, ghostSize)), generator);
        AssertLayerGradientsMatch(layer, RandomInput(generator, [n, 4, 2, 3], scale: 2, offset: 1), Affine);
    }

    [Fact]
    public void BatchGroupWithARemainderChunkGradientsMatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(105);
        using var layer = WithRandomAffine(InFloat64(new BatchGroupNorm(4, groups: 2, examplesPerGroup: 2)), generator);
        AssertLayerGradientsMatch(layer, RandomInput(generator, [5, 4, 2, 3], scale: 2, offset: 1), Affine);
    }

    private static PixelSet Parse(string name) => name switch
    {
        "bn" => PixelSet.Batch,
        "in" => PixelSet.Instance,
        "ln" => PixelSet.Layer,
        _ when name.StartsWith("gn", StringComparison.Ordinal) => PixelSet.Group(int.Parse(name[2..])),
        _ => PixelSet.Extended(int.Parse(name[2..])),
    };
}
