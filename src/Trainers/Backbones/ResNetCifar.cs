using MLNetNormalization.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace MLNetNormalization.Backbones;

/// <summary>
/// CIFAR-style ResNet (He et al. 2016, section 4.2): a 3x3 stem of 16 channels, three stages of n basic
/// blocks with 16, 32 and 64 channels (depth = 6n + 2), parameter-free "option A" shortcuts, global
/// average pooling and a linear classifier. With BN: ResNet-20 has 269,722 parameters (the paper's
/// 0.27M), ResNet-32 464,154 (0.46M), ResNet-56 853,018 (0.85M); the convolutions have no bias, so these
/// are the published counts exactly. Maps [N, C, H, W] to logits [N, classes]; children "stem", "stages", "fc".
/// </summary>
public sealed class ResNetCifar : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    /// <summary>
    /// The smallest height and width: the two stride-2 stages halve a map of at least 2 pixels, ending at
    /// 1x1. Smaller images would run, but a stride-2 stage over a 1x1 map is no longer a downsampling.
    /// (The constructor takes no image size; <see cref="Backbone.Create(Architecture, ImageShape, int, NormalizerPlan)"/> checks it.)
    /// </summary>
    public const int MinimumImageSize = 4;

    private const long StemChannels = 16;

    // Each stage's width and its first block's stride.
    private static readonly (long Width, long Stride)[] Stages = [(16, 1), (32, 2), (64, 2)];

    /// <summary>
    /// The channel counts of the normalization layers of a ResNet of <paramref name="depth"/> 6n + 2, in network order:
    /// the stem's, then two per block (the zero-padding shortcuts have none).
    /// </summary>
    internal static long[] NormalizedChannels(int depth) =>
        [StemChannels, .. Stages.SelectMany(stage => Enumerable.Repeat(stage.Width, 2 * ((depth - 2) / 6)))];

    private readonly ConvNorm stem;
    private readonly Sequential stages;
    [ComponentName(Name = "fc")] private readonly Linear classifier;

    /// <param name="depth">20, 32, 56, ...: any 6n + 2.</param>
    /// <param name="normalization">Builds the normalizer of a layer from its channel count; TorchSharp's <see cref="BatchNorm2d"/> by default.</param>
    public ResNetCifar(int depth = 20, int inputChannels = 3, int classes = 10, Func<long, nn.Module<Tensor, Tensor>>? normalization = null)
        : base(nameof(ResNetCifar))
    {
        if (depth < 8 || (depth - 2) % 6 != 0)
            throw new ArgumentOutOfRangeException(nameof(depth), depth, "A CIFAR ResNet's depth is 6n + 2 (20, 32, 44, 56, 110).");
        if (inputChannels <= 0)
            throw new ArgumentOutOfRangeException(nameof(inputChannels), inputChannels, $"ResNet-{depth}: images need at least one channel.");
        if (classes <= 0)
            throw new ArgumentOutOfRangeException(nameof(classes), classes, $"ResNet-{depth}: the classifier needs at least one class.");
        // libtorch's own batch norm stays the default here: bench/ResNetBench and bench/NormBench time it
        // as the reference against PyTorch. Backbone.Create passes the plan's normalizers instead.
        var norm = normalization ?? (channels => nn.BatchNorm2d(channels));
        var blocksPerStage = (depth - 2) / 6;

        stem = Backbone.NewConvNorm(inputChannels, StemChannels, 3, norm, padding: 1);
        stages = nn.Sequential();
        long channels = StemChannels;
        foreach (var (width, stride) in Stages)
        {
            for (var b = 0; b < blocksPerStage; b++)
            {
                stages.append(new BasicBlock(channels, width, b == 0 ? stride : 1, ShortcutKind.ZeroPadding, norm));
                channels = width;
            }
        }
        classifier = nn.Linear(Stages[^1].Width, classes);
        RegisterComponents();

        Backbone.InitializeConvolutions(this);
        // He normal rather than Backbone.InitializeClassifier: this network's initialization from before the
        // other backbones, kept so that the same seed still gives the network bench/results.md was measured with.
        Backbone.InitializeHidden(classifier);
    }

    public override Tensor forward(Tensor input)
    {
        var x = stages.call(stem.call(input).relu_());
        return classifier.call(nn.functional.adaptive_avg_pool2d(x, (1, 1)).flatten(1));
    }

    string IOnnxExportable.WriteOnnx(OnnxNetworkWriter writer, string input)
    {
        var x = writer.Child("stages", stages, writer.Relu(writer.Child("stem", stem, input)));
        return writer.Child("fc", classifier, writer.Flatten(writer.GlobalAveragePool(x)));
    }
}
