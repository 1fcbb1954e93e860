using MLNetNormalization.Normalization;
using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Tests.Support;
using MLNetNormalization.Trainers.Backbones;
using MLNetNormalization.TorchBinding.NN;

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
        Torch.ManualSeed(410);
        using var scope = Torch.NewDisposeScope();
        using var generator = new Generator(410);
        using var layer = NormalizerFactory.Create(normalizer, 4);
        layer.To(ScalarType.Float64);
        // Training forwards move the running statistics; gamma and beta are set off 1 and 0.
        using (Torch.NoGrad())
        {
            for (var step = 0; step < 3; step++) layer.Forward(Torch.Randn([6, 4, 5, 5], generator, ScalarType.Float64).Mul(3).Add(step + 1));
            layer.Weight.CopyFrom(Torch.Randn([4], generator, ScalarType.Float64).Mul(0.5).Add(1));
            layer.Bias.CopyFrom(Torch.Randn([4], generator, ScalarType.Float64));
        }
        layer.Eval();
        var x = Torch.Randn([3, 4, 5, 5], generator, ScalarType.Float64).Mul(3).Add(2);

        Assert.True(layer.TryGetInferenceAffine(out var scale, out var shift, out var whyNot), whyNot);

        Assert.Equal([4L], scale.Shape);
        Assert.Equal([4L], shift.Shape);
        Assert.Equal(ScalarType.Float64, scale.Type);
        Assert.False(scale.RequiresGrad || shift.RequiresGrad);
        var expected = TestData.Values(layer.Forward(x));
        var affine = TestData.Values(x.Mul(scale.View(1, 4, 1, 1)).Add(shift.View(1, 4, 1, 1)));
        Expect.Close(expected, affine, 1e-12, 1e-12);
    }

    [Theory]
    [InlineData("bn")]
    [InlineData("libtorch")]
    public void AUnitInTrainingModeDoesNotFoldAndSaysWhy(string normalizer)
    {
        Torch.ManualSeed(411);
        using var scope = Torch.NewDisposeScope();
        var norm = FoldingNet.Normalizer(normalizer)(4);
        var conv = new Conv2d(3, 4, 3);
        using var unit = new ConvNorm(conv, norm);
        var state = unit.State().Select(s => (s.Name, TestData.RawBytes(s.Value))).ToList();

        Assert.False(unit.TryFold(out var whyNot));

        Assert.Contains("is in training mode, where it normalizes with each batch's statistics; call Eval() first", whyNot, StringComparison.Ordinal);
        Assert.Same(conv, unit.Conv);
        Assert.Same(norm, unit.Norm);
        Assert.Equal(state, unit.State().Select(s => (s.Name, TestData.RawBytes(s.Value))));
    }

    [Fact]
    public void AModuleThatIsNoKnownNormalizerDoesNotFold()
    {
        Torch.ManualSeed(412);
        using var scope = Torch.NewDisposeScope();
        using var unit = new ConvNorm(new Conv2d(3, 4, 3), new ReLU());
        unit.Eval();
        Assert.False(unit.TryFold(out var whyNot));
        Assert.Equal("ReLU is not a normalizer folding knows; only NormalizationLayer and BatchNorm2d fold, in evaluation mode.", whyNot);
    }

    [Fact]
    public void ANormalizerOfTheWrongWidthIsAnErrorNamingBothChannelCounts()
    {
        Torch.ManualSeed(413);
        using var scope = Torch.NewDisposeScope();
        using var unit = new ConvNorm(new Conv2d(3, 4, 3), new BatchNorm(6));
        unit.Eval();
        var e = Assert.Throws<InvalidOperationException>(() => unit.TryFold(out _));
        Assert.Contains("the normalizer has 6 channels but the convolution gives 4", e.Message, StringComparison.Ordinal);
        Assert.IsType<BatchNorm>(unit.Norm);
    }

    [Fact]
    public void FoldingDisposesTheReplacedConvolutionAndNormalizer()
    {
        Torch.ManualSeed(414);
        using var scope = Torch.NewDisposeScope();
        var conv = new Conv2d(3, 4, 3);
        var norm = new BatchNorm(4);
        using var unit = new ConvNorm(conv, norm);
        unit.Eval();
        Assert.True(unit.TryFold(out _));
        Assert.True(conv.Weight.IsDisposed);
        Assert.True(norm.Weight.IsDisposed);
        Assert.True(norm.Running.Mean.IsDisposed);
        Assert.False(unit.Conv.Weight.IsDisposed);
    }
}
