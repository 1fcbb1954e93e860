using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Support;
using MLNetNormalization.Backbones;

namespace MLNetNormalization.Tests.Trainers.Folding;

/// <summary>
/// A small network of ConvNorm units covering the convolution options folding must keep: padding without
/// bias, stride 2 with two groups and a bias, dilation 2 with a bias, and a depthwise 1x1 without bias;
/// then a linear head, so that it can be trained on a classification loss.
/// </summary>
internal sealed class FoldingNet : nn.Module<Tensor, Tensor>
{
    /// <summary>"libtorch" for TorchSharp's BatchNorm2d; any other string is a <see cref="NormalizerFactory"/> form.</summary>
    public static Func<long, nn.Module<Tensor, Tensor>> Normalizer(string specification) =>
        specification == "libtorch" ? channels => nn.BatchNorm2d(channels) : NormalizerFactory.Create(specification);

    private readonly TorchSharp.Modules.Sequential features, head;

    public FoldingNet(Func<long, nn.Module<Tensor, Tensor>> norm) : base(nameof(FoldingNet))
    {
        features = nn.Sequential(
            new ConvNorm(nn.Conv2d(3, 8, 3, padding: 1, bias: false), norm(8)), nn.ReLU(),
            new ConvNorm(nn.Conv2d(8, 8, 3, stride: 2, padding: 1, groups: 2), norm(8)), nn.ReLU(),
            new ConvNorm(nn.Conv2d(8, 4, 3, padding: 2, dilation: 2), norm(4)),
            new ConvNorm(nn.Conv2d(4, 4, 1, groups: 4, bias: false), norm(4)));
        head = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3));
        RegisterComponents();
    }

    /// <summary>The dotted names of the four normalizers, in network order.</summary>
    public static readonly string[] NormNames = ["features.0.norm", "features.2.norm", "features.4.norm", "features.5.norm"];

    public TorchSharp.Modules.Sequential Features => features;
    public TorchSharp.Modules.Sequential Head => head;

    public IReadOnlyList<ConvNorm> Units => Features.named_children().Select(c => c.module).OfType<ConvNorm>().ToList();

    public override Tensor forward(Tensor input) => Head.call(Features.call(input));

    /// <summary>Seeded inputs with a per-channel offset, so that the running means move well away from 0.</summary>
    public static Tensor Input(Generator generator, long examples, ScalarType type = ScalarType.Float32) =>
        randn([examples, 3, 8, 8], dtype: type, generator: generator).mul(2).add(arange(1.0, 4.0, 1.0, dtype: type).view(1, 3, 1, 1));

    /// <summary>
    /// SGD with momentum on random labels for a few steps: gamma, beta and the conv weights move off their
    /// initial values, and the running statistics off theirs. Asserts that every normalizer's state moved,
    /// so that a fold that ignored gamma, beta or the running statistics would show.
    /// </summary>
    public void TrainSteps(Generator generator, int steps = 6, double learningRate = 0.01)
    {
        var before = NormState().Select(s => (s.Name, TestData.Values(s.Value))).ToList();
        train();
        using (var sgd = optim.SGD(parameters(), learningRate, momentum: 0.9))
        {
            for (var step = 0; step < steps; step++)
            {
                using var scope = NewDisposeScope();
                var x = Input(generator, 8, features.parameters().First().dtype);
                var labels = randint(0, 3, [8], generator: generator);
                sgd.zero_grad();
                nn.functional.cross_entropy(call(x), labels).backward();
                sgd.step();
            }
        }
        foreach (var (name, initial) in before)
        {
            using var scope = NewDisposeScope();
            var now = TestData.Values(NormState().Single(s => s.Name == name).Value);
            Assert.True(!initial.SequenceEqual(now), $"{name} kept its initial values through training; the fold check would not see it.");
        }
    }

    // What a fold reads from the normalizers: gamma ("weight"), beta ("bias") and the running statistics. Gates
    // are left out: a single mode's gate gets no gradient (its softmax is 1 whatever the logit).
    private IEnumerable<(string Name, Tensor Value)> NormState() =>
        state_dict().Select(s => (Name: s.Key, Value: s.Value))
            .Where(s => NormNames.Any(n => s.Name.StartsWith(n + ".", StringComparison.Ordinal))
                        && (s.Name.EndsWith(".weight", StringComparison.Ordinal) || s.Name.EndsWith(".bias", StringComparison.Ordinal) || s.Name.Contains("running_", StringComparison.Ordinal)));
}
