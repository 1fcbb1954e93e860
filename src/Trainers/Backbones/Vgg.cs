using MLNetNormalization.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetNormalization.Backbones;

/// <summary>
/// VGG (Simonyan &amp; Zisserman 2015) as commonly trained on CIFAR: the 3x3 convolutions of configuration
/// A (VGG-11), B (VGG-13) or D (VGG-16), each followed by a normalizer and a ReLU, five 2x2 max-pools,
/// then a single Linear(512, classes) in place of the three ImageNet fully connected layers. An adaptive
/// average pool to 1x1 before the classifier lets images larger than 32x32 through. With BN and 10
/// classes: 9,228,362 (VGG-11), 9,413,066 (VGG-13) and 14,724,042 (VGG-16) parameters; the usual CIFAR
/// implementations, which keep the conv biases before BN, have 9,231,114, 9,416,010 and 14,728,266.
/// Maps [N, C, H, W] to logits [N, classes]; children "features" and "classifier".
/// </summary>
public sealed class Vgg : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    /// <summary>The smallest height and width: five 2x2 max-pools halve 32 down to 1.</summary>
    public const int MinimumImageSize = 32;

    // The output channels of each convolution, a pooling after each group (the paper's table 1).
    private static readonly Dictionary<int, int[][]> Configurations = new()
    {
        [11] = [[64], [128], [256, 256], [512, 512], [512, 512]],
        [13] = [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
        [16] = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
    };

    /// <summary>The channel counts of the normalization layers of VGG-<paramref name="depth"/>, in network order (null for another depth).</summary>
    internal static long[]? NormalizedChannels(int depth) =>
        Configurations.TryGetValue(depth, out var groups) ? [.. groups.SelectMany(g => g).Select(w => (long)w)] : null;

    private readonly Sequential features;
    private readonly Linear classifier;

    /// <param name="depth">11, 13 or 16 (configurations A, B and D).</param>
    /// <param name="input">Any channel count, at least 32x32.</param>
    /// <param name="normalization">Builds the normalizer of a layer from its channel count; our "bn" by default.</param>
    public Vgg(int depth, ImageShape input, int classes, Func<long, nn.Module<Tensor, Tensor>>? normalization = null) : base(nameof(Vgg))
    {
        if (!Configurations.TryGetValue(depth, out var groups))
            throw new ArgumentOutOfRangeException(nameof(depth), depth, $"VGG comes in depths {string.Join(", ", Configurations.Keys)}.");
        Backbone.CheckInput($"VGG-{depth}", input, classes, MinimumImageSize);
        var norm = normalization ?? new NormalizerPlan().NewFactory();
        Depth = depth;

        features = nn.Sequential();
        long channels = input.Channels;
        foreach (var group in groups)
        {
            foreach (var width in group)
            {
                features.append(Backbone.NewConvNorm(channels, width, 3, norm, padding: 1)).append(nn.ReLU());
                channels = width;
            }
            features.append(nn.MaxPool2d(2));
        }
        classifier = nn.Linear(channels, classes);
        RegisterComponents();

        Backbone.InitializeConvolutions(this);
        Backbone.InitializeClassifier(classifier);
    }

    /// <summary>11, 13 or 16.</summary>
    public int Depth { get; }

    public override Tensor forward(Tensor input) =>
        classifier.call(nn.functional.adaptive_avg_pool2d(features.call(input), (1, 1)).flatten(1));

    string IOnnxExportable.WriteOnnx(OnnxNetworkWriter writer, string input) =>
        writer.Child("classifier", classifier, writer.Flatten(writer.GlobalAveragePool(writer.Child("features", features, input))));
}
