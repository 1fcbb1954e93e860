using MLNetNormalization.Normalization;
using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Tests.Support;
using MLNetNormalization.Backbones;

namespace MLNetNormalization.Tests.Trainers.Folding;

/// <summary>
/// The pieces of folding on their own: a layer's inference affine against its own evaluation output, and
/// the conditions under which a ConvNorm unit refuses to fold. Modules initialise from the global
/// generator, hence the collection.
/// </summary>
[Collection(TestCollections.GlobalRandom)]
public class ConvNormFoldingTests
{
    [Theory]
    [InlineData("bn")]
    [InlineData("ghost:b=2")]
    [InlineData("en:g=2")]
    [InlineData("hn:mean=en2,std=bn")]
    [InlineData("bgn:g=2,b=2,alpha=0")]
    public void InferenceAffineIsTheLayersOwnEvaluationOutput(string normalizer)
    {
        torch.manual_seed(410);
        using var scope = NewDisposeScope();
        using var generator = new Generator(410);
        using var layer = NormalizerFactory.Create(normalizer, 4);
        layer.to(ScalarType.Float64);
        // Training forwards move the running statistics; gamma and beta are set off 1 and 0.
        using (no_grad())
        {
            for (var step = 0; step < 3; step++) layer.call(randn([6, 4, 5, 5], ScalarType.Float64, generator: generator).mul(3).add(step + 1));
            layer.Weight.copy_(randn([4], ScalarType.Float64, generator: generator).mul(0.5).add(1));
            layer.Bias.copy_(randn([4], ScalarType.Float64, generator: generator));
        }
        layer.eval();
        var x = randn([3, 4, 5, 5], ScalarType.Float64, generator: generator).mul(3).add(2);

        Assert.True(layer.TryGetInferenceAffine(out var scale, out var shift, out var whyNot), whyNot);

        Assert.Equal([4L], scale.shape);
        Assert.Equal([4L], shift.shape);
        Assert.Equal(ScalarType.Float64, scale.dtype);
        Assert.False(scale.requires_grad || shift.requires_grad);
        var expected = TestData.Values(layer.call(x));
        var affine = TestData.Values(x.mul(scale.view(1, 4, 1, 1)).add(shift.view(1, 4, 1, 1)));
        Expect.Close(expected, affine, 1e-12, 1e-12, "element");
    }

    [Theory]
    [InlineData("bn")]
    [InlineData("libtorch")]
    public void AUnitInTrainingModeDoesNotFoldAndSaysWhy(string normalizer)
    {
        torch.manual_seed(411);
        using var scope = NewDisposeScope();
        var norm = FoldingNet.Normalizer(normalizer)(4);
        var conv = nn.Conv2d(3, 4, 3);
        using var unit = new ConvNorm(conv, norm);
        var state = unit.state_dict().Select(s => (s.Key, TestData.RawBytes(s.Value))).ToList();

        Assert.False(unit.TryFold(out var whyNot));

        Assert.Contains("is in training mode, where it normalizes with each batch's statistics; call eval() first", whyNot, StringComparison.Ordinal);
        Assert.Same(conv, unit.Conv);
        Assert.Same(norm, unit.Norm);
        Assert.Equal(state, unit.state_dict().Select(s => (s.Key, TestData.RawBytes(s.Value))));
    }

    [Fact]
    public void AModuleThatIsNoKnownNormalizerDoesNotFold()
    {
        torch.manual_seed(412);
        using var scope = NewDisposeScope();
        using var unit = new ConvNorm(nn.Conv2d(3, 4, 3), nn.ReLU());
        unit.eval();
        Assert.False(unit.TryFold(out var whyNot));
        Assert.Equal("ReLU is not a normalizer folding knows; only NormalizationLayer and BatchNorm2d fold, in evaluation mode.", whyNot);
    }

    [Fact]
    public void ANormalizerOfTheWrongWidthIsAnErrorNamingBothChannelCounts()
    {
        torch.manual_seed(413);
        using var scope = NewDisposeScope();
        using var unit = new ConvNorm(nn.Conv2d(3, 4, 3), new BatchNorm(6));
        unit.eval();
        var e = Assert.Throws<InvalidOperationException>(() => unit.TryFold(out _));
        Assert.Contains("the normalizer has 6 channels but the convolution gives 4", e.Message, StringComparison.Ordinal);
        Assert.IsType<BatchNorm>(unit.Norm);
    }

    [Fact]
    public void FoldingDisposesTheReplacedParametersAndNormalizer()
    {
        torch.manual_seed(414);
        using var scope = NewDisposeScope();
        var conv = nn.Conv2d(3, 4, 3);
        var (weight, bias) = (conv.weight, conv.bias!);
        var norm = new BatchNorm(4);
        using var unit = new ConvNorm(conv, norm);
        unit.eval();
        Assert.True(unit.TryFold(out _));
        // The convolution stays, with new weight and bias; the old ones and the normalizer are freed.
        Assert.Same(conv, unit.Conv);
        Assert.True(weight.IsInvalid);
        Assert.True(bias.IsInvalid);
        Assert.True(norm.Weight.IsInvalid);
        Assert.True(norm.Running.Mean.IsInvalid);
        Assert.False(unit.Conv.weight.IsInvalid);
        Assert.IsType<TorchSharp.Modules.Identity>(unit.Norm);
    }
}
