using MLNetNormalization.Tests.Support;
using MLNetNormalization.Trainers;
using MLNetNormalization.Trainers.Backbones;
using MLNetNormalization.TorchBinding.NN;
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
        Torch.ManualSeed(2024);
        using var scope = Torch.NewDisposeScope();
        using var model = Backbone.Create(architecture, new ImageShape(channels, height, width), classes);
        var output = model.Forward(Torch.Randn([Batch, channels, height, width]));

        Assert.Equal([Batch, classes], output.Shape);
        Assert.All(TestData.Values(output), v => Assert.True(double.IsFinite(v)));
        // A parameter that the forward pass skipped would have no gradient.
        output.Square().Sum().Backward();
        Assert.All(model.NamedParameters(), p => Assert.True(p.Parameter.Grad is not null, $"{architecture}: {p.Name} got no gradient."));
    }

    [Theory]
    [MemberData(nameof(Architectures), MemberType = typeof(BackboneTestSupport))]
    public void TheMinimumImageSizeRunsInTrainingAndInference(Architecture architecture)
    {
        var size = Backbone.MinimumImageSize(architecture);
        Torch.ManualSeed(2025);
        using var scope = Torch.NewDisposeScope();
        using var model = Backbone.Create(architecture, new ImageShape(2, size, size), 5);
        var input = Torch.Randn([Batch, 2, size, size]);

        Assert.Equal([Batch, 5L], model.Forward(input).Shape);
        model.Eval();
        Assert.Equal([Batch, 5L], model.Forward(input).Shape);
    }

    /// <summary>
    /// LeNet against the same network written out with functional operations and its own weights. In
    /// inference a fresh BN (running mean 0, variance 1, gamma 1, beta 0) only divides by sqrt(1 + eps).
    /// </summary>
    [Fact]
    public void LeNetIsConvNormReluPoolTwiceThenTwoFullyConnectedLayers()
    {
        Torch.ManualSeed(2026);
        using var scope = Torch.NewDisposeScope();
        using var model = new LeNet(new ImageShape(1, 20, 24), 7);
        model.Eval();
        var x = Torch.Randn([Batch, 1, 20, 24]);
        var convs = ConvNorms(model).Select(c => c.Conv.Weight).ToList();
        var linears = model.NamedModules().Select(m => m.Module).OfType<Linear>().ToList();
        var freshBatchNorm = 1 / Math.Sqrt(1 + 1e-5);

        var h = Functional.MaxPool2d(Functional.Conv2d(x, convs[0]).Mul(freshBatchNorm).Relu(), (2, 2));
        h = Functional.MaxPool2d(Functional.Conv2d(h, convs[1]).Mul(freshBatchNorm).Relu(), (2, 2));
        // 20x24 -> conv 16x20 -> pool 8x10 -> conv 4x6 -> pool 2x3: 50·2·3 = 300 features.
        Assert.Equal([500L, 50 * 2 * 3], linears[0].Weight.Shape);
        var hidden = Functional.Linear(h.Flatten(1), linears[0].Weight, linears[0].Bias).Relu();
        var expected = Functional.Linear(hidden, linears[1].Weight, linears[1].Bias);

        Expect.Close(TestData.Values(expected), model.Forward(x), absolute: 1e-6, relative: 1e-5, shape: [Batch, 7]);
    }

    [Fact]
    public void NetworkInNetworkDropsOutOnlyInTraining()
    {
        Torch.ManualSeed(2027);
        using var scope = Torch.NewDisposeScope();
        var input = new ImageShape(3, 8, 8);
        var x = Torch.Randn([Batch, 3, 8, 8]);
        using var model = new NetworkInNetwork(input, 10);
        using var noDropout = new NetworkInNetwork(input, 10, dropout: 0);
        Assert.Equal(0.25, model.DropoutProbability);

        // Batch statistics are deterministic, so two training passes differ only by their dropout masks.
        Assert.False(model.Forward(x).Equal(model.Forward(x)));
        Assert.True(noDropout.Forward(x).Equal(noDropout.Forward(x)));
        model.Eval();
        Assert.True(model.Forward(x).Equal(model.Forward(x)));
    }
}
