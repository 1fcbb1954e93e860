using MLNetNormalization;
using MLNetNormalization.Backbones;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetNormalization.Samples.OwnBackbone;

/// <summary>
/// A network of the app's own: a small residual net whose blocks recalibrate their channels by squeeze and excitation
/// (Hu, Shen and Sun, arXiv:1709.01507). Each convolution is followed by the normalization layer that the trainer's
/// function gives for its channel count, so the network is trained with whatever normalizer the options name.
/// </summary>
internal sealed class SeResNet : nn.Module<Tensor, Tensor>
{
    /// <summary>The name the app registers the factory under, and the saved model records.</summary>
    public const string Name = "se-resnet-sample";

    private readonly ConvNorm stem;
    private readonly Sequential blocks;
    private readonly Linear fc;

    private SeResNet(ImageShape input, int classes, Func<long, nn.Module<Tensor, Tensor>> normalization) : base(nameof(SeResNet))
    {
        stem = new ConvNorm(nn.Conv2d(input.Channels, 16, 3, padding: 1, bias: false), normalization(16));
        blocks = nn.Sequential(new SeBlock(16, 16, 1, normalization), new SeBlock(16, 32, 2, normalization), new SeBlock(32, 64, 2, normalization));
        fc = nn.Linear(64, classes);
        RegisterComponents();
    }

    /// <summary>The <see cref="BackboneFactory"/>: [N, C, H, W] images to [N, classes] logits.</summary>
    public static nn.Module<Tensor, Tensor> Create(ImageShape input, int classes, Func<long, nn.Module<Tensor, Tensor>> normalization) =>
        new SeResNet(input, classes, normalization);

    public override Tensor forward(Tensor input)
    {
        var x = blocks.call(stem.call(input).relu());
        return fc.call(nn.functional.adaptive_avg_pool2d(x, 1).flatten(1));
    }

    /// <summary>Two 3x3 convolutions, their output scaled per channel by a gate computed from its own channel means, plus the shortcut.</summary>
    private sealed class SeBlock : nn.Module<Tensor, Tensor>
    {
        private readonly ConvNorm conv1, conv2;
        private readonly ConvNorm? shortcut;
        private readonly Linear squeeze, excite;

        public SeBlock(long inChannels, long outChannels, long stride, Func<long, nn.Module<Tensor, Tensor>> normalization) : base(nameof(SeBlock))
        {
            conv1 = new ConvNorm(nn.Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: false), normalization(outChannels));
            conv2 = new ConvNorm(nn.Conv2d(outChannels, outChannels, 3, padding: 1, bias: false), normalization(outChannels));
            if (stride != 1 || inChannels != outChannels)
                shortcut = new ConvNorm(nn.Conv2d(inChannels, outChannels, 1, stride: stride, bias: false), normalization(outChannels));
            squeeze = nn.Linear(outChannels, outChannels / 4);
            excite = nn.Linear(outChannels / 4, outChannels);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            var y = conv2.call(conv1.call(input).relu());
            var gate = nn.functional.sigmoid(excite.call(squeeze.call(y.mean([2, 3])).relu()));
            y = y * gate.unsqueeze(2).unsqueeze(3);
            return (y + (shortcut?.call(input) ?? input)).relu();
        }
    }
}
