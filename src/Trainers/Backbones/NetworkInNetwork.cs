using MLNetNormalization.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetNormalization.Backbones;

/// <summary>
/// The CIFAR Network in Network of Lin et al. (2014): three mlpconv blocks (a spatial convolution and
/// two 1x1 convolutions), 5x5-192, 1x1-160, 1x1-96, max-pool 3/2, dropout; 5x5-192, 1x1-192, 1x1-192,
/// average-pool 3/2, dropout; 3x3-192, 1x1-192, 1x1-classes; global average pooling gives the logits.
/// As in the mode-normalization paper, every convolution is coupled with a normalization layer and the
/// dropout is 0.25 rather than the original 0.5 (the paper found that better with BN). The pools round
/// up, as Caffe's do, so that 32x32 images give the original 16x16 and 8x8 maps. The original network,
/// with conv biases and no normalizers, has 966,986 parameters for 10 classes (0.97M); here the
/// 1,418 biases give way to 2·1,418 gammas and betas: 968,404 with BN. Maps [N, C, H, W] to logits
/// [N, classes]; children "block1", "block2", "block3".
/// </summary>
public sealed class NetworkInNetwork : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    /// <summary>
    /// The smallest height and width: each 3x3 pool must fit its input at least once; the convolutions
    /// keep the size, so 6 pools to 3 and 3 to 1.
    /// </summary>
    public const int MinimumImageSize = 6;

    private readonly Sequential block1, block2, block3;

    /// <param name="input">Any channel count, at least 6x6 (32x32 in the paper).</param>
    /// <param name="normalization">Builds the normalizer of a layer from its channel count; our "bn" by default.</param>
    /// <param name="dropout">The probability of dropping an activation after each of the first two blocks, in [0, 1).</param>
    public NetworkInNetwork(ImageShape input, int classes, Func<long, nn.Module<Tensor, Tensor>>? normalization = null, double dropout = 0.25)
        : base(nameof(NetworkInNetwork))
    {
        Backbone.CheckInput(nameof(NetworkInNetwork), input, classes, MinimumImageSize);
        if (!(dropout is >= 0 and < 1))
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "NetworkInNetwork: the dropout probability must be in [0, 1) (0.25 in the MN paper, 0.5 in the original).");
        var norm = normalization ?? new NormalizerPlan().NewFactory();
        DropoutProbability = dropout;

        var (first, second, third) = Blocks(classes);
        block1 = MlpConv(input.Channels, first, 5, norm, lastReLU: true);
        block2 = MlpConv(first.Out, second, 5, norm, lastReLU: true);
        // The last 1x1 convolution, which makes the class maps, gets a normalizer too: the MN paper couples
        // "each convolutional layer" with one, and its gamma and beta give each class map the scale and
        // offset the convolution's bias would have. It gets no ReLU: the class maps are averaged into
        // logits, which a ReLU after a normalizer would clip at zero for about half of every class.
        block3 = MlpConv(second.Out, third, 3, norm, lastReLU: false);
        RegisterComponents();

        Backbone.InitializeConvolutions(this);
    }

    /// <summary>The dropout probability after the first two blocks.</summary>
    public double DropoutProbability { get; }

    public override Tensor forward(Tensor input)
    {
        var x = block1.call(input);
        x = nn.functional.dropout(nn.functional.max_pool2d(x, (3, 3), (2, 2), ceil_mode: true), DropoutProbability, training);
        x = block2.call(x);
        x = nn.functional.dropout(nn.functional.avg_pool2d(x, (3, 3), (2, 2), ceil_mode: true), DropoutProbability, training);
        x = block3.call(x);
        return nn.functional.adaptive_avg_pool2d(x, (1, 1)).flatten(1);
    }

    // Dropout is the identity at inference.
    string IOnnxExportable.WriteOnnx(OnnxNetworkWriter writer, string input)
    {
        var x = writer.MaxPool(writer.Child("block1", block1, input), [3], [2], null, ceilMode: true);
        x = writer.AveragePool(writer.Child("block2", block2, x), [3], [2], null, ceilMode: true, countIncludePad: true);
        return writer.Flatten(writer.GlobalAveragePool(writer.Child("block3", block3, x)));
    }

    /// <summary>The output channels of an mlpconv block's three convolutions: the spatial one, then two 1x1.</summary>
    private readonly record struct BlockWidths(long Spatial, long Hidden, long Out);

    // The paper's widths; the last block's last convolution makes one map per class.
    private static (BlockWidths, BlockWidths, BlockWidths) Blocks(int classes) => (new(192, 160, 96), new(192, 192, 192), new(192, 192, classes));

    /// <summary>The channel counts of the normalization layers, in network order.</summary>
    internal static long[] NormalizedChannels(int classes)
    {
        var (first, second, third) = Blocks(classes);
        return [.. new[] { first, second, third }.SelectMany(b => new[] { b.Spatial, b.Hidden, b.Out })];
    }

    /// <summary>A spatial convolution of <paramref name="kernelSize"/> (padded to keep the size), then two 1x1 convolutions, each normalized and rectified.</summary>
    private static Sequential MlpConv(long inChannels, BlockWidths widths, long kernelSize, Func<long, nn.Module<Tensor, Tensor>> norm, bool lastReLU)
    {
        var block = nn.Sequential(
            Backbone.NewConvNorm(inChannels, widths.Spatial, kernelSize, norm, padding: kernelSize / 2), nn.ReLU(),
            Backbone.NewConvNorm(widths.Spatial, widths.Hidden, 1, norm), nn.ReLU(),
            Backbone.NewConvNorm(widths.Hidden, widths.Out, 1, norm));
        return lastReLU ? block.append(nn.ReLU()) : block;
    }
}
