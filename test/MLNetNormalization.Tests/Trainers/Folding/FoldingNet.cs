using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Support;
using MLNetNormalization.Trainers.Backbones;
using MLNetNormalization.TorchBinding.NN;
using MLNetNormalization.TorchBinding.Optim;

namespace MLNetNormalization.Tests.Trainers.Folding;

/// <summary>
/// A small network of ConvNorm units covering the convolution options folding must keep: padding without
/// bias, stride 2 with two groups and a bias, dilation 2 with a bias, and a depthwise 1x1 without bias;
/// then a linear head, so that it can be trained on a classification loss.
/// </summary>
internal sealed class FoldingNet : Module
{
    /// <summary>"libtorch" for the binding's BatchNorm2d; any other string is a <see cref="NormalizerFactory"/> form.</summary>
    public static Func<long, Module> Normalizer(string specification) =>
        specification == "libtorch" ? channels => new BatchNorm2d(channels) : NormalizerFactory.Create(specification);

    public FoldingNet(Func<long, Module> norm)
    {
        Features = RegisterModule("features", new Sequential(
            new ConvNorm(new Conv2d(3, 8, 3, padding: 1, bias: false), norm(8)), new ReLU(),
            new ConvNorm(new Conv2d(8, 8, 3, stride: 2, padding: 1, groups: 2), norm(8)), new ReLU(),
            new ConvNorm(new Conv2d(8, 4, 3, padding: 2, dilation: 2), norm(4)),
            new ConvNorm(new Conv2d(4, 4, 1, groups: 4, bias: false), norm(4))));
        Head = RegisterModule("head", new Sequential(new ReLU(), new AdaptiveAvgPool2d(1, 1), new Flatten(), new Linear(4, 3)));
    }

    /// <summary>The dotted names of the four normalizers, in network order.</summary>
    public static readonly string[] NormNames = ["features.0.norm", "features.2.norm", "features.4.norm", "features.5.norm"];

    public Sequential Features { get; }
    public Sequential Head { get; }

    public IReadOnlyList<ConvNorm> Units => Features.NamedChildren().Select(c => c.Module).OfType<ConvNorm>().ToList();

    public override Tensor Forward(Tensor input) => Head.Forward(Features.Forward(input));

    /// <summary>Seeded inputs with a per-channel offset, so that the running means move well away from 0.</summary>
    public static Tensor Input(Generator generator, long examples, ScalarType type = ScalarType.Float32) =>
        Torch.Randn([examples, 3, 8, 8], generator, type).Mul(2).Add(Torch.Arange(1.0, 4.0, 1.0, type).View(1, 3, 1, 1));

    /// <summary>
    /// SGD with momentum on random labels for a few steps: gamma, beta and the conv weights move off their
    /// initial values, and the running statistics off theirs. Asserts that every normalizer's state moved,
    /// so that a fold that ignored gamma, beta or the running statistics would show.
    /// </summary>
    public void TrainSteps(Generator generator, int steps = 6, double learningRate = 0.01)
    {
        var before = NormState().Select(s => (s.Name, TestData.Values(s.Value))).ToList();
        Train();
        using (var sgd = new SGD(Parameters(), learningRate, momentum: 0.9))
        {
            for (var step = 0; step < steps; step++)
            {
                using var scope = Torch.NewDisposeScope();
                var x = Input(generator, 8, Features.NamedParameters().First().Parameter.Type);
                var labels = Torch.RandInt(0, 3, [8], generator);
                sgd.ZeroGrad();
                Functional.CrossEntropy(Forward(x), labels).Backward();
                sgd.Step();
            }
        }
        foreach (var (name, initial) in before)
        {
            using var scope = Torch.NewDisposeScope();
            var now = TestData.Values(NormState().Single(s => s.Name == name).Value);
            Assert.True(!initial.SequenceEqual(now), $"{name} kept its initial values through training; the fold check would not see it.");
        }
    }

    // What a fold reads from the normalizers: gamma ("weight"), beta ("bias") and the running statistics. Gates
    // are left out: a single mode's gate gets no gradient (its softmax is 1 whatever the logit).
    private IEnumerable<(string Name, Tensor Value)> NormState() =>
        State().Where(s => NormNames.Any(n => s.Name.StartsWith(n + ".", StringComparison.Ordinal))
                           && (s.Name.EndsWith(".weight", StringComparison.Ordinal) || s.Name.EndsWith(".bias", StringComparison.Ordinal) || s.Name.Contains("running_", StringComparison.Ordinal)));
}
