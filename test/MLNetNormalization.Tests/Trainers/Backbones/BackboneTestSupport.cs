using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Normalization;
using MLNetNormalization;
using MLNetNormalization.Backbones;
using TorchSharp.Modules;

namespace MLNetNormalization.Tests.Trainers.Backbones;

/// <summary>Cheap inputs per architecture, parameter counts, and the normalizers of a model in network order.</summary>
internal static class BackboneTestSupport
{
    /// <summary>Every architecture with a small input it takes: its minimum size, except LeNet's paper size.</summary>
    public static TheoryData<Architecture> Architectures() => new(Enum.GetValues<Architecture>());

    /// <summary>A cheap input for building (not necessarily forwarding) <paramref name="architecture"/>.</summary>
    public static ImageShape SmallInput(Architecture architecture) => architecture == Architecture.LeNet
        ? new ImageShape(1, 28, 28)
        : new ImageShape(3, Backbone.MinimumImageSize(architecture), Backbone.MinimumImageSize(architecture));

    public static long ParameterCount(nn.Module model) => model.parameters().Sum(p => p.numel());

    /// <summary>The backbone's ConvNorm units in registration order, which the backbones keep to network order.</summary>
    public static List<ConvNorm> ConvNorms(nn.Module model) => model.named_modules().Select(m => m.module).OfType<ConvNorm>().ToList();

    public static bool IsNormalizer(nn.Module module) => module is NormalizationLayer or BatchNorm2d;

    public static int[] Repeat(int channels, int count) => Enumerable.Repeat(channels, count).ToArray();

    /// <summary>
    /// The output channels of every convolution, hence of every normalizer, in network order, written
    /// out from the papers' architecture tables (10 classes).
    /// </summary>
    public static int[] NormalizerChannels(Architecture architecture) => architecture switch
    {
        Architecture.LeNet => [20, 50],
        Architecture.NetworkInNetwork => [192, 160, 96, 192, 192, 192, 192, 192, 10],
        Architecture.Vgg11 => [64, 128, 256, 256, 512, 512, 512, 512],
        Architecture.Vgg13 => [64, 64, 128, 128, 256, 256, 512, 512, 512, 512],
        Architecture.Vgg16 => [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512],
        // The stem, then n blocks of two convolutions per stage.
        Architecture.ResNet20 => [16, .. Repeat(16, 6), .. Repeat(32, 6), .. Repeat(64, 6)],
        Architecture.ResNet32 => [16, .. Repeat(16, 10), .. Repeat(32, 10), .. Repeat(64, 10)],
        Architecture.ResNet56 => [16, .. Repeat(16, 18), .. Repeat(32, 18), .. Repeat(64, 18)],
        // The stem, four convolutions in stage 1, and four plus one projection in each later stage.
        Architecture.ResNet18 => [64, .. Repeat(64, 4), .. Repeat(128, 5), .. Repeat(256, 5), .. Repeat(512, 5)],
        _ => throw new ArgumentOutOfRangeException(nameof(architecture), architecture, "not an architecture"),
    };
}
