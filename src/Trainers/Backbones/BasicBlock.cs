using MLNetNormalization.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetNormalization.Backbones;

/// <summary>How a residual block's shortcut matches the shape of its residual when the block changes it (He et al. 2016).</summary>
internal enum ShortcutKind
{
    /// <summary>Option A: subsample by the stride and zero-pad the new channels, adding no parameters (the CIFAR ResNets).</summary>
    ZeroPadding,

    /// <summary>Option B: a strided 1x1 convolution and its normalizer (the ImageNet ResNets).</summary>
    Projection,
}

/// <summary>
/// The basic residual block of He et al. (2016): conv3x3-norm-ReLU-conv3x3-norm plus the shortcut, then
/// ReLU. The first convolution carries the stride. The shortcut is the identity when the shape stays.
/// Children "conv1", "conv2" and, for a projection, "shortcut".
/// </summary>
internal sealed class BasicBlock : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly ConvNorm conv1, conv2;
    private readonly ConvNorm? shortcut;
    private readonly long stride, inChannels, outChannels;

    public BasicBlock(long inChannels, long outChannels, long stride, ShortcutKind shortcut, Func<long, nn.Module<Tensor, Tensor>> normalization)
        : base(nameof(BasicBlock))
    {
        if (shortcut == ShortcutKind.ZeroPadding && (outChannels < inChannels || (outChannels - inChannels) % 2 != 0))
            throw new ArgumentException(
                $"A zero-padding shortcut splits the new channels equally on both sides; it cannot go from {inChannels} to {outChannels} channels. Use a projection shortcut.",
                nameof(shortcut));
        this.stride = stride;
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        conv1 = Backbone.NewConvNorm(inChannels, outChannels, 3, normalization, stride, padding: 1);
        conv2 = Backbone.NewConvNorm(outChannels, outChannels, 3, normalization, padding: 1);
        if (shortcut == ShortcutKind.Projection && ChangesShape)
            this.shortcut = Backbone.NewConvNorm(inChannels, outChannels, 1, normalization, stride);
        RegisterComponents();
    }

    private bool ChangesShape => stride != 1 || inChannels != outChannels;

    public override Tensor forward(Tensor input)
    {
        var x = conv1.call(input).relu_();
        x = conv2.call(x);
        return x.add_(Shortcut(input)).relu_();
    }

    string IOnnxExportable.WriteOnnx(OnnxNetworkWriter writer, string input)
    {
        var x = writer.Child("conv2", conv2, writer.Relu(writer.Child("conv1", conv1, input)));
        string shortcutOutput;
        if (!ChangesShape) shortcutOutput = input;
        else if (shortcut is not null) shortcutOutput = writer.Child("shortcut", shortcut, input);
        else shortcutOutput = writer.ZeroPaddingShortcut(input, stride, (outChannels - inChannels) / 2);
        return writer.Relu(writer.Add(x, shortcutOutput));
    }

    private Tensor Shortcut(Tensor input)
    {
        if (!ChangesShape) return input;
        if (shortcut is not null) return shortcut.call(input);
        // Option A: a 3x3 convolution with padding 1 and stride s keeps the pixels s·i, which the slices
        // take; the new channels are split equally before and after the old ones.
        var extra = (outChannels - inChannels) / 2;
        var subsampled = input[.., .., TensorIndex.Slice(null, null, stride), TensorIndex.Slice(null, null, stride)];
        return nn.functional.pad(subsampled, [0, 0, 0, 0, extra, extra]);
    }
}
