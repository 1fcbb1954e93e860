using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.NN;

namespace MLNetNormalization.Trainers.Backbones;

/// <summary>
/// CIFAR-style ResNet (He et al. 2016, section 4.2): a 3x3 stem of 16 channels, three stages of n basic
/// blocks with 16, 32 and 64 channels (depth = 6n + 2), parameter-free "option A" shortcuts, global
/// average pooling and a linear classifier. ResNet-20 has 269,722 parameters (0.27M).
/// </summary>
public sealed class ResNetCifar : Module
{
    private readonly Conv2d stem;
    private readonly Module stemNorm;
    private readonly Sequential stages;
    private readonly Linear classifier;

    /// <param name="depth">20, 32, 56, ...: any 6n + 2.</param>
    /// <param name="normalization">Builds the normalizer of a layer from its channel count; libtorch's BatchNorm2d by default.</param>
    public ResNetCifar(int depth = 20, int inputChannels = 3, int classes = 10, Func<long, Module>? normalization = null)
    {
        if (depth < 8 || (depth - 2) % 6 != 0)
            throw new ArgumentOutOfRangeException(nameof(depth), depth, "A CIFAR ResNet's depth is 6n + 2 (20, 32, 44, 56, 110).");
        var norm = normalization ?? (channels => new BatchNorm2d(channels));
        var blocksPerStage = (depth - 2) / 6;

        stem = RegisterModule("conv1", new Conv2d(inputChannels, 16, 3, padding: 1, bias: false));
        stemNorm = RegisterModule("norm1", norm(16));
        stages = RegisterModule("stages", new Sequential());
        long channels = 16;
        foreach (var (width, stride) in new[] { (16L, 1L), (32L, 2L), (64L, 2L) })
        {
            for (var b = 0; b < blocksPerStage; b++)
            {
                stages.Append(new BasicBlock(channels, width, b == 0 ? stride : 1, norm));
                channels = width;
            }
        }
        classifier = RegisterModule("fc", new Linear(64, classes));

        foreach (var (_, module) in NamedModules())
            if (module is Conv2d conv) Init.KaimingNormal(conv.Weight);
        Init.KaimingNormal(classifier.Weight);
        Init.Constant(classifier.Bias!, 0);
    }

    public override Tensor Forward(Tensor input)
    {
        var x = stemNorm.Forward(stem.Forward(input)).ReluInPlace();
        x = stages.Forward(x);
        return classifier.Forward(Functional.AdaptiveAvgPool2d(x, (1, 1)).Flatten(1));
    }

    /// <summary>conv3x3-norm-ReLU-conv3x3-norm plus the shortcut, then ReLU.</summary>
    private sealed class BasicBlock : Module
    {
        private readonly Conv2d conv1, conv2;
        private readonly Module norm1, norm2;
        private readonly long stride, inChannels, outChannels;

        public BasicBlock(long inChannels, long outChannels, long stride, Func<long, Module> norm)
        {
            this.stride = stride;
            this.inChannels = inChannels;
            this.outChannels = outChannels;
            conv1 = RegisterModule("conv1", new Conv2d(inChannels, outChannels, 3, stride, padding: 1, bias: false));
            norm1 = RegisterModule("norm1", norm(outChannels));
            conv2 = RegisterModule("conv2", new Conv2d(outChannels, outChannels, 3, padding: 1, bias: false));
            norm2 = RegisterModule("norm2", norm(outChannels));
        }

        public override Tensor Forward(Tensor input)
        {
            var x = norm1.Forward(conv1.Forward(input)).ReluInPlace();
            x = norm2.Forward(conv2.Forward(x));
            return x.AddInPlace(Shortcut(input)).ReluInPlace();
        }

        // Option A: subsample by the stride and zero-pad the new channels equally on both sides.
        private Tensor Shortcut(Tensor input)
        {
            if (stride == 1 && inChannels == outChannels) return input;
            var extra = (outChannels - inChannels) / 2;
            var subsampled = input.Slice(2, 0, long.MaxValue, stride).Slice(3, 0, long.MaxValue, stride);
            return Functional.Pad(subsampled, [0, 0, 0, 0, extra, extra]);
        }
    }
}
