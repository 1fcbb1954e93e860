using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Support;
using MLNetNormalization;
using MLNetNormalization.Backbones;
using BatchNorm2d = TorchSharp.Modules.BatchNorm2d;
using Conv2d = TorchSharp.Modules.Conv2d;
using BatchNorm = MLNetNormalization.Normalization.BatchNorm;
using GroupNorm = MLNetNormalization.Normalization.GroupNorm;
using static MLNetNormalization.Tests.Trainers.Backbones.BackboneTestSupport;

namespace MLNetNormalization.Tests.Trainers.Backbones;

/// <summary>
/// Where the normalizers are: each with its convolution in a ConvNorm (which model folding relies on),
/// made in network order, and given by the plan to every layer or to the first only.
/// </summary>
[Collection(TestCollections.GlobalRandom)]
public class BackboneNormalizerTests
{
    [Theory]
    [MemberData(nameof(Architectures), MemberType = typeof(BackboneTestSupport))]
    public void EveryConvolutionAndNormalizerSitTogetherInAConvNorm(Architecture architecture)
    {
        torch.manual_seed(3030);
        using var model = Backbone.Create(architecture, SmallInput(architecture), 10, plan: null);
        AssertEveryConvolutionAndNormalizerInAConvNorm(model, NormalizerChannels(architecture).Length);
    }

    [Fact]
    public void ResNetCifarsDefaultLibtorchBatchNormsSitInConvNorms()
    {
        torch.manual_seed(3031);
        using var model = new ResNetCifar(20);
        AssertEveryConvolutionAndNormalizerInAConvNorm(model, 19);
        Assert.All(ConvNorms(model), unit => Assert.IsType<BatchNorm2d>(unit.Norm));
    }

    private static void AssertEveryConvolutionAndNormalizerInAConvNorm(nn.Module model, int expectedUnits)
    {
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        foreach (var (name, module) in modules)
        {
            var role = module switch
            {
                Conv2d => "conv",
                _ when IsNormalizer(module) => "norm",
                _ => null,
            };
            if (role is null) continue;
            var dot = name.LastIndexOf('.');
            Assert.True(dot > 0 && name[(dot + 1)..] == role, $"{name} ({module.GetType().Name}) is not the {role} of a ConvNorm.");
            var unit = Assert.IsType<ConvNorm>(modules[name[..dot]]);
            Assert.Same(module, role == "conv" ? unit.Conv : unit.Norm);
        }
        var units = ConvNorms(model);
        Assert.Equal(expectedUnits, units.Count);
        Assert.All(units, unit => Assert.True(IsNormalizer(unit.Norm)));
        // The normalizer's beta stands in for the bias, which model folding then writes.
        Assert.All(units, unit => Assert.Null(unit.Conv.bias));
    }

    [Theory]
    [MemberData(nameof(Architectures), MemberType = typeof(BackboneTestSupport))]
    public void NormalizersAreMadeInNetworkOrder(Architecture architecture)
    {
        torch.manual_seed(3032);
        var made = new List<BatchNorm>();
        var input = SmallInput(architecture);
        using var model = Backbone.Create(architecture, input, 10, channels =>
        {
            var layer = new BatchNorm(channels);
            made.Add(layer);
            return layer;
        });

        Assert.Equal(NormalizerChannels(architecture), made.Select(layer => (int)layer.Channels));
        var units = ConvNorms(model);
        Assert.Equal(made.Count, units.Count);
        for (var i = 0; i < made.Count; i++) Assert.Same(made[i], units[i].Norm);
        // The first is the stem's: the only convolution that reads the image's channels.
        Assert.Equal(input.Channels, units[0].Conv.weight.shape[1]);
    }

    [Theory]
    [MemberData(nameof(Architectures), MemberType = typeof(BackboneTestSupport))]
    public void FirstLayerOnlyGivesTheChosenNormalizerToTheStemAndTheOthersToTheRest(Architecture architecture)
    {
        torch.manual_seed(3033);
        var input = SmallInput(architecture);
        using var model = Backbone.Create(architecture, input, 10, new NormalizerPlan("mn:k=2", NormalizerPlacement.FirstLayerOnly));

        var units = ConvNorms(model);
        Assert.Equal(input.Channels, units[0].Conv.weight.shape[1]);
        Assert.Equal(2, Assert.IsType<ModeNorm>(units[0].Norm).Modes);
        Assert.All(units.Skip(1), unit => Assert.IsType<BatchNorm>(unit.Norm));
    }

    [Theory]
    [MemberData(nameof(Architectures), MemberType = typeof(BackboneTestSupport))]
    public void EveryLayerGivesTheChosenNormalizerToAllOfThem(Architecture architecture)
    {
        torch.manual_seed(3034);
        using var model = Backbone.Create(architecture, SmallInput(architecture), 10, new NormalizerPlan("gn:g=2"));

        var units = ConvNorms(model);
        Assert.Equal(NormalizerChannels(architecture).Length, units.Count);
        Assert.All(units, unit => Assert.Equal(2, Assert.IsType<GroupNorm>(unit.Norm).Groups));
    }
}
