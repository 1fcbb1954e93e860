using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.NN;

namespace MLNetNormalization.Trainers.Backbones;

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
/// </summary>
internal sealed class BasicBlock : Module
{
    private readonly ConvNorm conv1, conv2;
    private readonly ConvNorm? projection;
    private readonly long stride, inChannels, outChannels;

    public BasicBlock(long inChannels, long outChannels, long stride, ShortcutKind shortcut, Func<long, Module> normalization)
    {
        if (shortcut == ShortcutKind.ZeroPadding && (outChannels < inChannels || (outChannels - inChannels) % 2 != 0))
            throw new ArgumentException(
                $"A zero-padding shortcut splits the new channels equally on both sides; it cannot go from {inChannels} to {outChannels} channels. Use a projection shortcut.",
                nameof(shortcut));
        this.stride = stride;
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        conv1 = RegisterModule("conv1", Backbone.NewConvNorm(inChannels, outChannels, 3, normalization, stride, padding: 1));
        conv2 = RegisterModule("conv2", Backbone.NewConvNorm(outChannels, outChannels, 3, normalization, padding: 1));
        if (shortcut == ShortcutKind.Projection && ChangesShape)
            projection = RegisterModule("shortcut", Backbone.NewConvNorm(inChannels, outChannels, 1, normalization, stride));
    }

    private bool ChangesShape => stride != 1 || inChannels != outChannels;

    public override Tensor Forward(Tensor input)
    {
        var x = conv1.Forward(input).ReluInPlace();
        x = conv2.Forward(x);
        return x.AddInPlace(Shortcut(input)).ReluInPlace();
    }

    private Tensor Shortcut(Tensor input)
    {
        if (!ChangesShape) return input;
        if (projection is not null) return projection.Forward(input);
        // Option A: a 3x3 convolution with padding 1 and stride s keeps the pixels s·i, which the slices
        // take; the new channels are split equally before and after the old ones.
        var extra = (outChannels - inChannels) / 2;
        var subsampled = input.Slice(2, 0, long.MaxValue, stride).Slice(3, 0, long.MaxValue, stride);
        return Functional.Pad(subsampled, [0, 0, 0, 0, extra, extra]);
    }
}
