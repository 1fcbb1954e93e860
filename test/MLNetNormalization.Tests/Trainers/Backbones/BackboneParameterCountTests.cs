using MLNetNormalization.Tests.Support;
using MLNetNormalization;
using MLNetNormalization.Backbones;
using static MLNetNormalization.Tests.Trainers.Backbones.BackboneTestSupport;

namespace MLNetNormalization.Tests.Trainers.Backbones;

/// <summary>
/// Parameter counts with BN (our "bn": gamma and beta per channel) against the arithmetic of each
/// architecture's table, written out, and against the published counts. Our convolutions have no bias,
/// so where a published network had conv biases and no normalizers the two differ by the biases (C per
/// convolution) against gamma and beta (2C).
/// </summary>
[Collection(TestCollections.GlobalRandom)]
public class BackboneParameterCountTests
{
    private static long Count(Architecture architecture, ImageShape input, int classes, NormalizerPlan? plan = null)
    {
        using var model = Backbone.Create(architecture, input, classes, plan);
        return ParameterCount(model);
    }

    [Fact]
    public void LeNetOn28x28HasCaffesCountWithNormsForBiases()
    {
        const long convolutions = 1 * 20 * 5 * 5 + 20 * 50 * 5 * 5;
        const long norms = 2 * (20 + 50);
        // 28 -> conv 24 -> pool 12 -> conv 8 -> pool 4: 50·4·4 = 800 features.
        const long fullyConnected = 800 * 500 + 500 + 500 * 10 + 10;
        const long expected = convolutions + norms + fullyConnected;
        Assert.Equal(431_150, expected);

        var count = Count(Architecture.LeNet, new ImageShape(1, 28, 28), 10);
        Assert.Equal(expected, count);
        // Caffe's LeNet: the 20 + 50 conv biases instead of the norms.
        Assert.Equal(431_080, count - norms + (20 + 50));
    }

    [Fact]
    public void LeNetSizesItsFirstFullyConnectedLayerFromTheImage()
    {
        const long convolutions = 3 * 20 * 5 * 5 + 20 * 50 * 5 * 5;
        const long norms = 2 * (20 + 50);
        // 32 -> conv 28 -> pool 14 -> conv 10 -> pool 5: 50·5·5 = 1250 features.
        const long fullyConnected = 1250 * 500 + 500 + 500 * 40 + 40;
        Assert.Equal(672_180, convolutions + norms + fullyConnected);
        Assert.Equal(convolutions + norms + fullyConnected, Count(Architecture.LeNet, new ImageShape(3, 32, 32), 40));
    }

    [Fact]
    public void NetworkInNetworkHasTheOriginalCountWithNormsForBiases()
    {
        const long convolutions =
            3 * 192 * 5 * 5 + 192 * 160 + 160 * 96 +     // block 1: 5x5-192, 1x1-160, 1x1-96
            96 * 192 * 5 * 5 + 192 * 192 + 192 * 192 +   // block 2: 5x5-192, 1x1-192, 1x1-192
            192 * 192 * 3 * 3 + 192 * 192 + 192 * 10;    // block 3: 3x3-192, 1x1-192, 1x1-10
        const long channels = 192 + 160 + 96 + 192 + 192 + 192 + 192 + 192 + 10;
        Assert.Equal(965_568, convolutions);
        Assert.Equal(1_418, channels);
        Assert.Equal(968_404, convolutions + 2 * channels);

        var count = Count(Architecture.NetworkInNetwork, new ImageShape(3, 32, 32), 10);
        Assert.Equal(convolutions + 2 * channels, count);
        // Lin et al.'s CIFAR-10 NIN with conv biases: 966,986, the "0.97M" usually quoted.
        Assert.Equal(966_986, count - 2 * channels + channels);
    }

    /// <summary>The MN paper: "incorporating MN with K = 2 into NIN adds less than 1% to the number of trainable parameters".</summary>
    [Fact]
    public void ModeNormalizationAddsLessThanOnePercentToNetworkInNetwork()
    {
        var input = new ImageShape(3, 32, 32);
        var batchNorm = Count(Architecture.NetworkInNetwork, input, 10);
        var modeNorm = Count(Architecture.NetworkInNetwork, input, 10, new NormalizerPlan("mn:k=2"));
        // Each of the 9 layers adds a K x C gate weight and K gate biases.
        Assert.Equal(2 * 1_418 + 2 * 9, modeNorm - batchNorm);
        Assert.True((modeNorm - batchNorm) / (double)batchNorm < 0.01);
    }

    [Theory]
    [InlineData(Architecture.Vgg11,
        3 * 64 + 64 * 128 + 128 * 256 + 256 * 256 + 256 * 512 + 512 * 512 + 512 * 512 + 512 * 512,
        64 + 128 + 256 + 256 + 512 + 512 + 512 + 512, 9_228_362, 9_231_114)]
    [InlineData(Architecture.Vgg13,
        3 * 64 + 64 * 64 + 64 * 128 + 128 * 128 + 128 * 256 + 256 * 256 + 256 * 512 + 512 * 512 + 512 * 512 + 512 * 512,
        64 + 64 + 128 + 128 + 256 + 256 + 512 + 512 + 512 + 512, 9_413_066, 9_416_010)]
    [InlineData(Architecture.Vgg16,
        3 * 64 + 64 * 64 + 64 * 128 + 128 * 128 + 128 * 256 + 256 * 256 + 256 * 256 + 256 * 512 + 512 * 512 * 5,
        64 + 64 + 128 + 128 + 256 + 256 + 256 + 512 * 6, 14_724_042, 14_728_266)]
    public void VggHasItsConfigurationsCount(Architecture architecture, long channelProducts, long channels, long expected, long withConvBiases)
    {
        // Each 3x3 convolution has in·out·9 weights, each norm 2·out, and the classifier 512·10 + 10.
        Assert.Equal(expected, 9 * channelProducts + 2 * channels + 512 * 10 + 10);
        var count = Count(architecture, new ImageShape(3, 32, 32), 10);
        Assert.Equal(expected, count);
        // The usual PyTorch CIFAR VGGs keep a bias in every convolution before its BN.
        Assert.Equal(withConvBiases, count + channels);
    }

    [Theory]
    [InlineData(Architecture.ResNet20, 3, 269_722, 0.27)]
    [InlineData(Architecture.ResNet32, 5, 464_154, 0.46)]
    [InlineData(Architecture.ResNet56, 9, 853_018, 0.85)]
    public void CifarResNetsHaveThePublishedCounts(Architecture architecture, int blocksPerStage, long expected, double publishedMillions)
    {
        var n = blocksPerStage;
        long stem = 3 * 16 * 9 + 2 * 16;
        long stage1 = n * (2 * 16 * 16 * 9 + 2 * 2 * 16);
        long stage2 = (16 * 32 * 9 + 32 * 32 * 9 + 2 * 2 * 32) + (n - 1) * (2 * 32 * 32 * 9 + 2 * 2 * 32);
        long stage3 = (32 * 64 * 9 + 64 * 64 * 9 + 2 * 2 * 64) + (n - 1) * (2 * 64 * 64 * 9 + 2 * 2 * 64);
        long classifier = 64 * 10 + 10;
        Assert.Equal(expected, stem + stage1 + stage2 + stage3 + classifier);

        var count = Count(architecture, new ImageShape(3, 32, 32), 10);
        Assert.Equal(expected, count);
        // He et al. 2016, table 6, in millions (option A shortcuts add nothing).
        Assert.Equal(publishedMillions, Math.Round(count / 1e6, 2));
    }

    [Fact]
    public void ResNet18HasTorchvisionsCount()
    {
        const long stem = 3 * 64 * 7 * 7 + 2 * 64;
        const long stage1 = 4 * (64 * 64 * 9) + 4 * 2 * 64;
        // Each later stage: a strided 3x3 from the previous width, three 3x3 at its width, four norms and a 1x1 projection with its norm.
        const long stage2 = 64 * 128 * 9 + 3 * (128 * 128 * 9) + 4 * 2 * 128 + 64 * 128 + 2 * 128;
        const long stage3 = 128 * 256 * 9 + 3 * (256 * 256 * 9) + 4 * 2 * 256 + 128 * 256 + 2 * 256;
        const long stage4 = 256 * 512 * 9 + 3 * (512 * 512 * 9) + 4 * 2 * 512 + 256 * 512 + 2 * 512;
        const long classifier = 512 * 1000 + 1000;
        Assert.Equal(11_689_512, stem + stage1 + stage2 + stage3 + stage4 + classifier);

        // Built at ImageNet's 224x224 (the count does not depend on it) but never run there: too slow for a test.
        Assert.Equal(11_689_512, Count(Architecture.ResNet18, new ImageShape(3, 224, 224), 1000));
    }
}
