using MLNetNormalization.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace MLNetNormalization.Backbones;

/// <summary>
/// The ImageNet ResNet-18 (He et al. 2016, table 1): a 7x7 stride-2 stem of 64 channels with its
/// normalizer and ReLU, a 3x3 stride-2 max-pool, four stages of two basic blocks with 64, 128, 256 and
/// 512 channels (the last three start with stride 2), projection shortcuts (1x1 convolution and
/// normalizer) where a block changes the shape, global average pooling and a linear classifier. With BN,
/// 3 input channels and 1000 classes it has 11,689,512 parameters, torchvision's count (whose
/// convolutions have no bias either). Maps [N, C, H, W] to logits [N, classes]; children "stem", "stages", "fc".
/// </summary>
public sealed class ResNet18 : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    /// <summary>
    /// The smallest height and width: the stem, the pool and three stages each halve the map, 32 down
    /// to 1. Smaller images would run, but the last stages' strides would no longer downsample anything.
    /// </summary>
    public const int MinimumImageSize = 32;

    private const long StemChannels = 64;

    // Each stage's width and its first block's stride; two blocks a stage.
    private static readonly (long Width, long Stride)[] Stages = [(64, 1), (128, 2), (256, 2), (512, 2)];

    /// <summary>
    /// The channel counts of the normalization layers, in network order: the stem's, then per block its two
    /// convolutions' and, where the block changes the shape, its projection shortcut's.
    /// </summary>
    internal static long[] NormalizedChannels
    {
        get
        {
            var channels = new List<long> { StemChannels };
            var previous = StemChannels;
            foreach (var (width, stride) in Stages)
            {
                channels.AddRange(stride != 1 || previous != width ? [width, width, width] : [width, width]);
                channels.AddRange([width, width]);
                previous = width;
            }
            return [.. channels];
        }
    }

    private readonly ConvNorm stem;
    private readonly Sequential stages;
    [ComponentName(Name = "fc")] private readonly Linear classifier;

    /// <param name="input">Any channel count, at least 32x32 (224x224 on ImageNet).</param>
    /// <param name="normalization">Builds the normalizer of a layer from its channel count; our "bn" by default.</param>
    public ResNet18(ImageShape input, int classes, Func<long, nn.Module<Tensor, Tensor>>? normalization = null) : base(nameof(ResNet18))
    {
        Backbone.CheckInput(nameof(ResNet18), input, classes, MinimumImageSize);
        var norm = normalization ?? new NormalizerPlan().NewFactory();

        stem = Backbone.NewConvNorm(input.Channels, StemChannels, 7, norm, stride: 2, padding: 3);
        stages = nn.Sequential();
        long channels = StemChannels;
        foreach (var (width, stride) in Stages)
        {
            stages.append(new BasicBlock(channels, width, stride, ShortcutKind.Projection, norm));
            stages.append(new BasicBlock(width, width, 1, ShortcutKind.Projection, norm));
            channels = width;
        }
        classifier = nn.Linear(channels, classes);
        RegisterComponents();

        Backbone.InitializeConvolutions(this);
        Backbone.InitializeClassifier(classifier);
    }

    public override Tensor forward(Tensor input)
    {
        var x = nn.functional.max_pool2d(stem.call(input).relu_(), (3, 3), (2, 2), (1, 1));
        x = stages.call(x);
        return classifier.call(nn.functional.adaptive_avg_pool2d(x, (1, 1)).flatten(1));
    }

    string IOnnxExportable.WriteOnnx(OnnxNetworkWriter writer, string input)
    {
        var x = writer.MaxPool(writer.Relu(writer.Child("stem", stem, input)), [3], [2], [1], ceilMode: false);
        x = writer.Child("stages", stages, x);
        return writer.Child("fc", classifier, writer.Flatten(writer.GlobalAveragePool(x)));
    }
}
