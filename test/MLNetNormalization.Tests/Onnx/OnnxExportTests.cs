using System.Runtime.InteropServices;
using MLNetNormalization.Backbones;
using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Support;
using TorchSharp.Modules;

namespace MLNetNormalization.Tests.Onnx;

/// <summary>
/// Exported networks scored by ONNX Runtime (an InferenceSession, and ML.NET's ApplyOnnxModel) against the TorchSharp
/// network they came from: every normalizer kind and its
/// inference paths (alpha 0, between, 1; folded and written out) on LeNet and ResNet-20, and every other architecture with
/// bn and mn. Networks get running statistics from training-mode passes, gamma and beta off 1 and 0, and a classifier
/// scaled up so that the probabilities are far from uniform. Modules initialise from the global generator.
/// </summary>
[Collection(TestCollections.GlobalRandom)]
public class OnnxExportTests
{
    public static TheoryData<string> Normalizers =>
    [
        "bn", "bn:alpha=0.4", "ghost:b=4", "ghost:b=4,alpha=1", "bgn:g=2,b=4", "bgn:g=2,b=4,alpha=0", "mn:k=2", "mn:k=3,alpha=0.5", "mn:k=1",
        "mgn:k=2", "mgn:k=2,alpha=0.3", "mgn:k=3,weighted=true", "hn:g=1", "hn:mean=gn2,std=en1", "hn:mean=in,std=ln", "hn:mean=bn,std=gn2,alpha=0.5",
        "en:g=2", "en:g=2,alpha=1", "gn:g=2", "gn:g=2,alpha=0", "gn:g=2,alpha=0.5", "ln", "in", "in:alpha=0.7", "sn", "sn:alpha=0.5",
    ];

    [Theory]
    [MemberData(nameof(Normalizers))]
    public void LeNetScoresAsInTorchSharp(string normalizer) => AssertExportAgrees(Architecture.LeNet, new(1, 28, 28), normalizer, images: 256);

    [Theory]
    [MemberData(nameof(Normalizers))]
    public void ResNet20ScoresAsInTorchSharp(string normalizer) => AssertExportAgrees(Architecture.ResNet20, new(3, 16, 16), normalizer, images: 64);

    [Theory]
    [InlineData(Architecture.NetworkInNetwork, "bn")]
    [InlineData(Architecture.NetworkInNetwork, "mn:k=2")]
    [InlineData(Architecture.Vgg11, "bn")]
    [InlineData(Architecture.Vgg11, "mn:k=2")]
    [InlineData(Architecture.Vgg13, "bn")]
    [InlineData(Architecture.Vgg13, "mn:k=2")]
    [InlineData(Architecture.Vgg16, "bn")]
    [InlineData(Architecture.Vgg16, "mn:k=2")]
    [InlineData(Architecture.ResNet32, "bn")]
    [InlineData(Architecture.ResNet32, "mn:k=2")]
    [InlineData(Architecture.ResNet56, "bn")]
    [InlineData(Architecture.ResNet56, "mn:k=2")]
    [InlineData(Architecture.ResNet18, "bn")]
    [InlineData(Architecture.ResNet18, "mn:k=2")]
    public void EveryArchitectureScoresAsInTorchSharp(Architecture architecture, string normalizer) =>
        AssertExportAgrees(architecture, architecture == Architecture.NetworkInNetwork ? new(3, 13, 13) : new(3, 32, 32), normalizer, images: 16);

    [Fact]
    public void AUserBackboneOfKnownModulesExports()
    {
        torch.manual_seed(2401);
        BackboneFactory tiny = (input, classes, norm) => nn.Sequential(
            new ConvNorm(nn.Conv2d(input.Channels, 8, 3, padding: 1, bias: false), norm(8)), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 8, 3, stride: 2, padding: 1), norm(8), nn.ReLU(), nn.Dropout(0.2), nn.AvgPool2d(2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, classes));
        var shape = new ImageShape(2, 16, 16);
        using var network = Backbone.Create(tiny, shape, 5, new NormalizerPlan("gn:g=2"));
        AssertExportAgrees(network, shape, 5, "a user's Sequential with gn:g=2", images: 64);
    }

    [Fact]
    public void AModuleTheExporterDoesNotKnowIsNamed()
    {
        torch.manual_seed(2402);
        using var network = nn.Sequential(("stem", nn.Conv2d(1, 4, 3)), ("body", nn.Sequential(("act", nn.ReLU()), ("odd", nn.GELU()))), ("fc", nn.Linear(4, 2)));
        network.eval();
        var error = Assert.Throws<NotSupportedException>(() => OnnxExport.Save(network, new(1, 8, 8), new MemoryStream()));
        Assert.StartsWith("ONNX export: body.odd is a GELU, which the exporter does not know.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AModelInTrainingModeIsRefusedNamingTheModule()
    {
        torch.manual_seed(2403);
        using var network = Backbone.Create(Architecture.LeNet, new(1, 28, 28), 10, new NormalizerPlan("gn:g=2"));
        var error = Assert.Throws<NotSupportedException>(() => OnnxExport.Save(network, new(1, 28, 28), new MemoryStream()));
        Assert.StartsWith("ONNX export: network (LeNet) is in training mode", error.Message, StringComparison.Ordinal);
        Assert.Contains("call eval() on it first", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FixedAffineNormalizersAreFoldedIntoTheirConvolutions()
    {
        torch.manual_seed(2404);
        using var network = Backbone.Create(Architecture.ResNet20, new(3, 16, 16), 10, new NormalizerPlan("bn"));
        Prepare(network, new(3, 16, 16));
        var model = OnnxExport.Build(network, new(3, 16, 16), null, null);
        var ops = model.Graph.Node.Select(n => n.OpType).ToList();
        Assert.Equal(19, ops.Count(op => op == "Conv"));
        Assert.DoesNotContain("ReduceMean", ops);
        Assert.DoesNotContain("Mul", ops);
        Assert.Equal(OnnxExport.OpsetVersion, model.OpsetImport.Single().Version);
    }

    private static void AssertExportAgrees(Architecture architecture, ImageShape shape, string normalizer, int images)
    {
        torch.manual_seed(2400);
        using var network = Backbone.Create(architecture, shape, 10, new NormalizerPlan(normalizer));
        AssertExportAgrees(network, shape, 10, $"{architecture} with {normalizer}", images);
    }

    private static void AssertExportAgrees(nn.Module<Tensor, Tensor> network, ImageShape shape, int classes, string what, int images)
    {
        using var scope = NewDisposeScope();
        Prepare(network, shape);
        var input = randn([images, shape.Channels, shape.Height, shape.Width], generator: new Generator(7)).mul(1.5).add(0.2);
        float[] expected;
        using (no_grad()) expected = nn.functional.softmax(network.call(input), 1).data<float>().ToArray();
        using var file = new MemoryStream();
        OnnxExport.Save(network, shape, file);
        var pixels = input.data<float>().ToArray();
        OnnxScoring.AssertAgrees(expected, classes, OnnxScoring.Run(file.ToArray(), pixels, shape), what);
        OnnxScoring.AssertAgrees(expected, classes, OnnxScoring.RunWithMLNet(file.ToArray(), pixels, shape), what + " through ApplyOnnxModel");
    }

    /// <summary>Training-mode passes move the running statistics; gamma, beta and the classifier are set to something a trained network could have.</summary>
    internal static void Prepare(nn.Module<Tensor, Tensor> network, ImageShape shape)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(11);
        using (no_grad())
        {
            network.train();
            for (var step = 0; step < 3; step++)
                network.call(randn([16, shape.Channels, shape.Height, shape.Width], generator: generator).mul(2).add(step * 0.5));
            foreach (var (_, layer) in NormalizationModel.Layers(network))
            {
                layer.Weight.copy_(rand(layer.Weight.shape, generator: generator).add(0.5));
                layer.Bias.copy_(randn(layer.Bias.shape, generator: generator).mul(0.3));
            }
            var classifier = network.modules().OfType<Linear>().LastOrDefault();
            classifier?.weight.mul_(20);
        }
        network.eval();
    }
}
