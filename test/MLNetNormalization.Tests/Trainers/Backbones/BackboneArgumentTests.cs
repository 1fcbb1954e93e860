using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Support;
using MLNetNormalization;
using MLNetNormalization.Backbones;

namespace MLNetNormalization.Tests.Trainers.Backbones;

/// <summary>Bad arguments fail before any layer is made, with messages that name the network and the fix.</summary>
[Collection(TestCollections.GlobalRandom)]
public class BackboneArgumentTests
{
    private static readonly ImageShape Cifar = new(3, 32, 32);

    [Fact]
    public void AnUnknownArchitectureListsTheValidOnes()
    {
        var unknown = (Architecture)99;
        foreach (var error in new[]
                 {
                     Assert.Throws<ArgumentOutOfRangeException>(() => Backbone.Create(unknown, Cifar, 10, plan: null)),
                     Assert.Throws<ArgumentOutOfRangeException>(() => Backbone.MinimumImageSize(unknown)),
                 })
        {
            Assert.Equal("architecture", error.ParamName);
            Assert.Contains("There is no architecture 99", error.Message);
            Assert.Contains("LeNet, NetworkInNetwork, Vgg11, Vgg13, Vgg16, ResNet20, ResNet32, ResNet56, ResNet18", error.Message);
        }
    }

    /// <summary>
    /// The minima, worked out by hand: LeNet ((16 - 4) / 2 - 4) / 2 = 1; NIN's 3x3 pools 6 -> 3 -> 1;
    /// five halvings 32 -> 1 for VGG and ResNet-18; two for the CIFAR ResNets, 4 -> 1.
    /// </summary>
    [Theory]
    [InlineData(Architecture.LeNet, 16, "LeNet")]
    [InlineData(Architecture.NetworkInNetwork, 6, "NetworkInNetwork")]
    [InlineData(Architecture.Vgg11, 32, "VGG-11")]
    [InlineData(Architecture.Vgg13, 32, "VGG-13")]
    [InlineData(Architecture.Vgg16, 32, "VGG-16")]
    [InlineData(Architecture.ResNet20, 4, "ResNet-20")]
    [InlineData(Architecture.ResNet32, 4, "ResNet-32")]
    [InlineData(Architecture.ResNet56, 4, "ResNet-56")]
    [InlineData(Architecture.ResNet18, 32, "ResNet18")]
    public void ImagesBelowTheMinimumNameIt(Architecture architecture, int minimum, string network)
    {
        Assert.Equal(minimum, Backbone.MinimumImageSize(architecture));
        foreach (var input in new ImageShape[] { new(3, minimum - 1, minimum), new(3, minimum, minimum - 1) })
        {
            var error = Assert.Throws<ArgumentException>(() => Backbone.Create(architecture, input, 10, plan: null));
            Assert.Equal("input", error.ParamName);
            Assert.StartsWith($"{network} needs images of at least {minimum}x{minimum} pixels, got {input.Height}x{input.Width}", error.Message);
            Assert.Contains($"resize or pad the images to at least {minimum}x{minimum}", error.Message);
        }
    }

    [Fact]
    public void ConstructorsCheckTheImageBeforeMakingAnyLayer()
    {
        var made = 0;
        Func<long, nn.Module<Tensor, Tensor>> counting = channels =>
        {
            made++;
            return new BatchNorm(channels);
        };
        Assert.Throws<ArgumentException>(() => new LeNet(new ImageShape(1, 15, 28), 10, counting));
        Assert.Throws<ArgumentException>(() => new NetworkInNetwork(new ImageShape(3, 5, 32), 10, counting));
        Assert.Throws<ArgumentException>(() => new Vgg(13, new ImageShape(3, 32, 31), 10, counting));
        Assert.Throws<ArgumentException>(() => new ResNet18(new ImageShape(3, 16, 16), 10, counting));
        Assert.Equal(0, made);
    }

    [Theory]
    [InlineData(Architecture.LeNet)]
    [InlineData(Architecture.Vgg11)]
    [InlineData(Architecture.ResNet20)]
    [InlineData(Architecture.ResNet18)]
    public void ImagesNeedChannelsAndClassifiersNeedClasses(Architecture architecture)
    {
        var channelless = Assert.Throws<ArgumentOutOfRangeException>(() => Backbone.Create(architecture, new ImageShape(0, 32, 32), 10, plan: null));
        Assert.Equal("input", channelless.ParamName);
        Assert.Contains("images need at least one channel; got 0", channelless.Message);

        var classless = Assert.Throws<ArgumentOutOfRangeException>(() => Backbone.Create(architecture, Cifar, 0, plan: null));
        Assert.Equal("classes", classless.ParamName);
        Assert.Contains("the classifier needs at least one class", classless.Message);
    }

    [Fact]
    public void VggTakesOnlyItsThreeDepths()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new Vgg(12, Cifar, 10));
        Assert.Equal("depth", error.ParamName);
        Assert.Contains("VGG comes in depths 11, 13, 16", error.Message);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    public void NetworkInNetworkTakesADropoutProbabilityBelowOne(double dropout)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new NetworkInNetwork(Cifar, 10, dropout: dropout));
        Assert.Equal("dropout", error.ParamName);
        Assert.Contains("the dropout probability must be in [0, 1)", error.Message);
    }

    [Fact]
    public void ResNetCifarChecksItsDepthChannelsAndClasses()
    {
        Assert.Contains("6n + 2", Assert.Throws<ArgumentOutOfRangeException>(() => new ResNetCifar(21)).Message);
        Assert.Equal("inputChannels", Assert.Throws<ArgumentOutOfRangeException>(() => new ResNetCifar(20, inputChannels: 0)).ParamName);
        Assert.Equal("classes", Assert.Throws<ArgumentOutOfRangeException>(() => new ResNetCifar(20, classes: 0)).ParamName);
    }

    [Fact]
    public void AGroupCountThatDoesNotFitEveryLayerNamesTheLayersChannelsAndTheCountsThatFit()
    {
        // 4 divides LeNet's first layer (20 channels) but not its second (50).
        var error = Assert.Throws<ArgumentException>(() => Backbone.Create(Architecture.LeNet, new ImageShape(1, 28, 28), 10, new NormalizerPlan("gn:g=4")));
        Assert.Contains("\"gn:g=4\" does not fit LeNet", error.Message);
        Assert.Contains("20, 50 channels", error.Message);
        Assert.Contains("divide all of them: 1, 2, 5, 10.", error.Message);
        Assert.Contains("50 channels cannot be split into 4 groups", error.Message);
    }
}
