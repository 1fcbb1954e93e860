using MLNetNormalization.Tests.Support;
using MLNetNormalization;
using MLNetNormalization.Backbones;
using TorchSharp.Modules;
using static MLNetNormalization.Tests.Trainers.Backbones.BackboneTestSupport;

namespace MLNetNormalization.Tests.Trainers.Backbones;

/// <summary>
/// Every backbone takes a small random batch to one logit per class and back, at its usual input, at
/// other shapes and at its minimum size. Models initialise from the global generator, hence the collection.
/// </summary>
[Collection(TestCollections.GlobalRandom)]
public class BackboneForwardTests
{
    private const long Batch = 2;

    [Theory]
    [InlineData(Architecture.LeNet, 1, 28, 28, 10)]
    [InlineData(Architecture.LeNet, 3, 32, 28, 40)]   // the MN paper's 40-way multi-task classifier; not square
    [InlineData(Architecture.NetworkInNetwork, 3, 32, 32, 10)]
    [InlineData(Architecture.NetworkInNetwork, 3, 24, 36, 100)]
    [InlineData(Architecture.Vgg11, 3, 32, 32, 10)]
    [InlineData(Architecture.Vgg13, 3, 48, 40, 100)]
    [InlineData(Architecture.Vgg16, 3, 32, 32, 10)]
    [InlineData(Architecture.ResNet20, 3, 32, 32, 10)]
    [InlineData(Architecture.ResNet32, 3, 16, 16, 100)]
    [InlineData(Architecture.ResNet56, 1, 8, 8, 10)]
    [InlineData(Architecture.ResNet18, 3, 64, 64, 1000)]
    public void ForwardGivesOneLogitPerClassAndBackwardReachesEveryParameter(Architecture architecture, int channels, int height, int width, int classes)
    {
        torch.manual_seed(2024);
        using var scope = NewDisposeScope();
        using var model = Backbone.Create(architecture, new ImageShape(channels, height, width), classes, plan: null);
        var output = model.call(randn([Batch, channels, height, width]));

        Assert.Equal([Batch, classes], output.shape);
        Assert.All(TestData.Values(output), v => Assert.True(double.IsFinite(v)));
        // A parameter that the forward pass skipped would have no gradient.
        output.square().sum().backward();
        Assert.All(model.named_parameters(), p => Assert.True(p.parameter.grad is not null, $"{architecture}: {p.name} got no gradient."));
    }

    [Theory]
    [MemberData(nameof(Architectures), MemberType = typeof(BackboneTestSupport))]
    public void TheMinimumImageSizeRunsInTrainingAndInference(Architecture architecture)
    {
        var size = Backbone.MinimumImageSize(architecture);
        torch.manual_seed(2025);
        using var scope = NewDisposeScope();
        using var model = Backbone.Create(architecture, new ImageShape(2, size, size), 5, plan: null);
        var input = randn([Batch, 2, size, size]);

        Assert.Equal([Batch, 5L], model.call(input).shape);
        model.eval();
        Assert.Equal([Batch, 5L], model.call(input).shape);
    }

    /// <summary>
    /// LeNet against the same network written out with functional operations and its own weights. In
    /// inference a fresh BN (running mean 0, variance 1, gamma 1, beta 0) only divides by sqrt(1 + eps).
    /// </summary>
    [Fact]
    public void LeNetIsConvNormReluPoolTwiceThenTwoFullyConnectedLayers()
    {
        torch.manual_seed(2026);
        using var scope = NewDisposeScope();
        using var model = new LeNet(new ImageShape(1, 20, 24), 7);
        model.eval();
        var x = randn([Batch, 1, 20, 24]);
        var convs = ConvNorms(model).Select(c => c.Conv.weight).ToList();
        var linears = model.named_modules().Select(m => m.module).OfType<Linear>().ToList();
        var freshBatchNorm = 1 / Math.Sqrt(1 + 1e-5);

        var h = nn.functional.max_pool2d(nn.functional.conv2d(x, convs[0]).mul(freshBatchNorm).relu(), 2);
        h = nn.functional.max_pool2d(nn.functional.conv2d(h, convs[1]).mul(freshBatchNorm).relu(), 2);
        // 20x24 -> conv 16x20 -> pool 8x10 -> conv 4x6 -> pool 2x3: 50·2·3 = 300 features.
        Assert.Equal([500L, 50 * 2 * 3], linears[0].weight.shape);
        var hidden = nn.functional.linear(h.flatten(1), linears[0].weight, linears[0].bias).relu();
        var expected = nn.functional.linear(hidden, linears[1].weight, linears[1].bias);

        Expect.Close(TestData.Values(expected), model.call(x), absolute: 1e-6, relative: 1e-5, shape: [Batch, 7]);
    }

    [Fact]
    public void NetworkInNetworkDropsOutOnlyInTraining()
    {
        torch.manual_seed(2027);
        using var scope = NewDisposeScope();
        var input = new ImageShape(3, 8, 8);
        var x = randn([Batch, 3, 8, 8]);
        using var model = new NetworkInNetwork(input, 10);
        using var noDropout = new NetworkInNetwork(input, 10, dropout: 0);
        Assert.Equal(0.25, model.DropoutProbability);

        // Batch statistics are deterministic, so two training passes differ only by their dropout masks.
        Assert.False(model.call(x).Equals(model.call(x)));
        Assert.True(noDropout.call(x).Equals(noDropout.call(x)));
        model.eval();
        Assert.True(model.call(x).Equals(model.call(x)));
    }
}
