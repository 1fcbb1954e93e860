using MLNetNormalization.Normalization;
using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Tests.Support;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>
/// The layers as TorchSharp modules among TorchSharp's own: inside nn.Sequential, trained by torch.optim.SGD, saved
/// and loaded by Module.save/load; and in float64 equal to libtorch's own normalization kernels to 1e-12.
/// </summary>
[Collection(TestCollections.GlobalRandom)]
public class TorchSharpModuleTests
{
    // Every kind but IN, which removes each example's per-channel brightness: the very signal of this test's data.
    public static TheoryData<string> EveryKind => new("bn", "ghost:b=4", "bgn:g=2,b=4", "mn:k=2", "mgn:k=2", "hn:g=1", "hn:mean=gn2,std=en1", "en:g=2", "gn:g=2", "ln", "sn");

    [Theory]
    [MemberData(nameof(EveryKind))]
    public void ALayerInsideNnSequentialLearnsWithTorchSharpsSgdAndRoundTripsThroughSaveAndLoad(string specification)
    {
        using var scope = NewDisposeScope();
        using var directory = new TempDirectory();
        manual_seed(31);
        using var model = Network(specification);
        Assert.Contains("norm.weight", model.state_dict().Keys);
        Assert.Contains("norm.bias", model.state_dict().Keys);

        // Noise images whose labelled channel is brighter: learnable only if forward, backward and the parameter
        // registration (what SGD sees) all work.
        using var generator = new Generator(32);
        var labels = randint(0, 3, [16], generator: generator);
        var images = randn([16, 3, 8, 8], generator: generator) + nn.functional.one_hot(labels, 3).to(ScalarType.Float32).view(16, 3, 1, 1);
        using var optimizer = optim.SGD(model.parameters(), 0.1, momentum: 0.9);
        model.train();
        double first = 0, last = 0;
        for (var step = 0; step < 40; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.forward(images), labels);
            loss.backward();
            optimizer.step();
            last = loss.item<float>();
            if (step == 0) first = last;
        }
        Assert.True(last < 0.5 * first, $"{specification}: the loss went from {first:F4} to {last:F4} in 40 steps.");

        var path = directory.File("model.bin");
        model.save(path);
        using var loaded = Network(specification);
        loaded.load(path);
        model.eval();
        loaded.eval();
        AssertIdentical(model.forward(images), loaded.forward(images));
    }

    private static nn.Module<Tensor, Tensor> Network(string specification) => nn.Sequential(
        ("conv", nn.Conv2d(3, 8, 3, padding: 1)),
        ("norm", NormalizerFactory.Create(specification, 8)),
        ("relu", nn.ReLU()),
        ("pool", nn.AdaptiveAvgPool2d(1)),
        ("flatten", nn.Flatten()),
        ("classify", nn.Linear(8, 3)));

    [Fact]
    public void ParametersAndBuffersFollowTheModuleThroughTypeConversionWithStatisticsKeptFloat64()
    {
        using var layer = new ModeNorm(4, modes: 2);
        layer.to(ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, layer.Weight.dtype);
        Assert.Equal(ScalarType.Float64, layer.GateWeight.dtype);
        layer.to(ScalarType.Float32);
        Assert.All(layer.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.All(layer.buffers(), b => Assert.Equal(ScalarType.Float64, b.dtype));
        // The converted parameters are the registered ones, so an optimizer built now trains what forward uses.
        Assert.Same(layer.named_parameters().Single(p => p.name == "gate_weight").parameter, layer.GateWeight);
    }

    // Per-channel gamma and beta as libtorch's kernels take them; LN over (C, H, W) with a per-channel affine is
    // group_norm with one group.
    public static TheoryData<string> FusedKernelKinds => new("bn", "gn", "ln", "in");

    [Theory]
    [MemberData(nameof(FusedKernelKinds))]
    public void InFloat64TheLayerEqualsLibtorchsKernelTo1e12InTrainingAndEval(string kind)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(33);
        using var layer = WithRandomAffine(InFloat64(kind switch
        {
            "bn" => (NormalizationLayer)new BatchNorm(6),
            "gn" => new GroupNorm(6, groups: 3),
            "ln" => new LayerNorm(6),
            _ => new InstanceNorm(6),
        }), generator);
        var runningMean = zeros(6, ScalarType.Float64);
        var runningVar = ones(6, ScalarType.Float64);
        Tensor Kernel(Tensor x, bool training) => kind switch
        {
            "bn" => nn.functional.batch_norm(x, runningMean, runningVar, layer.Weight, layer.Bias, training, 0.1, 1e-5),
            "gn" => nn.functional.group_norm(x, 3, layer.Weight, layer.Bias, 1e-5),
            "ln" => nn.functional.group_norm(x, 1, layer.Weight, layer.Bias, 1e-5),
            _ => nn.functional.instance_norm(x, weight: layer.Weight, bias: layer.Bias, eps: 1e-5),
        };
        foreach (var training in new[] { true, true, false })
        {
            layer.train(training);
            var x = RandomInput(generator, [5, 6, 4, 3], scale: 2, offset: 1);
            using var noGrad = no_grad();
            var expected = Kernel(x, training);
            var actual = layer.forward(x);
            var largest = (actual - expected).abs().max().item<double>();
            Assert.True(largest <= 1e-12, $"{kind} ({(training ? "training" : "eval")}): off by {largest:E3} from libtorch's kernel.");
        }
    }
}
