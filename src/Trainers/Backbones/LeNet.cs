using MLNetNormalization.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace MLNetNormalization.Backbones;

/// <summary>
/// LeNet as in Caffe's MNIST example (LeCun et al.), the network of the mode-normalization paper's
/// multi-task experiment: conv5x5-20, 2x2 max-pool, conv5x5-50, 2x2 max-pool, fully connected 500, ReLU,
/// fully connected classifier. Each convolution is followed by a normalizer and a ReLU before its pool.
/// Caffe's LeNet, with conv biases and no normalizers, has 431,080 parameters on 28x28 grey images and
/// 10 classes; here each convolution's bias (20 + 50) gives way to the normalizer's gamma and beta
/// (2·20 + 2·50), 431,150 with BN. Maps [N, C, H, W] to logits [N, classes]; children "features",
/// "fc1", "fc2".
/// </summary>
public sealed class LeNet : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    /// <summary>
    /// The smallest height and width: after a 5x5 valid convolution and a 2x2 pool, the second 5x5
    /// convolution must leave at least 2 pixels for the second pool: ((16 - 4) / 2 - 4) / 2 = 1.
    /// </summary>
    public const int MinimumImageSize = 16;

    // The channels of the two convolutions.
    private const long Conv1Channels = 20, Conv2Channels = 50;

    /// <summary>The channel counts of the normalization layers, in network order.</summary>
    internal static long[] NormalizedChannels => [Conv1Channels, Conv2Channels];

    private readonly Sequential features;
    [ComponentName(Name = "fc1")] private readonly Linear hidden;
    [ComponentName(Name = "fc2")] private readonly Linear classifier;

    /// <param name="input">Any channel count, at least 16x16 (the paper's 28x28 leaves 4x4x50 = 800 features).</param>
    /// <param name="normalization">Builds the normalizer of a layer from its channel count; our "bn" by default.</param>
    public LeNet(ImageShape input, int classes, Func<long, nn.Module<Tensor, Tensor>>? normalization = null) : base(nameof(LeNet))
    {
        Backbone.CheckInput(nameof(LeNet), input, classes, MinimumImageSize);
        var norm = normalization ?? new NormalizerPlan().NewFactory();

        features = nn.Sequential(
            Backbone.NewConvNorm(input.Channels, Conv1Channels, 5, norm), nn.ReLU(), nn.MaxPool2d(2),
            Backbone.NewConvNorm(Conv1Channels, Conv2Channels, 5, norm), nn.ReLU(), nn.MaxPool2d(2));
        // Each valid 5x5 convolution takes 4 pixels off a side, each pool halves (rounding down).
        var height = ((input.Height - 4) / 2 - 4) / 2;
        var width = ((input.Width - 4) / 2 - 4) / 2;
        hidden = nn.Linear(Conv2Channels * height * width, 500);
        classifier = nn.Linear(500, classes);
        RegisterComponents();

        Backbone.InitializeConvolutions(this);
        Backbone.InitializeHidden(hidden);
        Backbone.InitializeClassifier(classifier);
    }

    public override Tensor forward(Tensor input) =>
        classifier.call(hidden.call(features.call(input).flatten(1)).relu_());

    string IOnnxExportable.WriteOnnx(OnnxNetworkWriter writer, string input) =>
        writer.Child("fc2", classifier, writer.Relu(writer.Child("fc1", hidden, writer.Flatten(writer.Child("features", features, input)))));
}
