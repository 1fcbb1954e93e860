using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetNormalization.Backbones;

/// <summary>
/// Builds a user's own backbone for the trainer: a TorchSharp module mapping a batch of standardized images
/// [N, C, H, W] (float32, C·H·W as <paramref name="input"/> says) to logits [N, <paramref name="classes"/>].
/// <paramref name="normalization"/> makes the normalization layer the user chose (the trainer's normalizer
/// option, e.g. "mn:k=2") for a layer of the given channel count; call it once per normalization layer, in
/// network order, so that a "first layer only" placement gives the first layer the chosen normalizer; or ignore
/// it to keep your own normalizers. The module is built on the CPU from the global generator (seeded by the
/// trainer, so the same seed gives the same weights); the trainer moves it to its device. Build it of
/// <see cref="ConvNorm"/> units (a convolution, then its normalizer) for <see cref="Inference.ModelFolding"/> to
/// fold the normalizers at inference, and use PyTorch-style names (register_module / fields) so that its
/// state_dict names are stable: a saved model is loaded by calling the same factory again.
/// </summary>
/// <example><code>
/// BackboneFactory tiny = (input, classes, norm) => nn.Sequential(
///     new ConvNorm(nn.Conv2d(input.Channels, 16, 3, padding: 1, bias: false), norm(16)), nn.ReLU(),
///     nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, classes));
/// </code></example>
public delegate nn.Module<Tensor, Tensor> BackboneFactory(ImageShape input, int classes, Func<long, nn.Module<Tensor, Tensor>> normalization);

/// <summary>Builds the backbones by <see cref="Architecture"/>, and the parts and checks they share.</summary>
public static class Backbone
{
    /// <summary>
    /// A new <paramref name="architecture"/> for <paramref name="input"/> images and <paramref name="classes"/>
    /// classes, its normalization layers made by <paramref name="plan"/> ("bn" in every layer when null).
    /// The module maps [N, C, H, W] float32 images to [N, classes] logits, on the CPU, in training mode.
    /// </summary>
    /// <exception cref="ArgumentException">When the images are smaller than <see cref="MinimumImageSize"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">When there are no channels, no classes, or no such architecture.</exception>
    /// <exception cref="ArgumentException">
    /// Also when a normalizer of the plan does not fit a layer (a group count that does not divide its channels); the
    /// message then gives the channel counts of every normalized layer and the group counts that divide them all.
    /// </exception>
    public static nn.Module<Tensor, Tensor> Create(Architecture architecture, ImageShape input, int classes, NormalizerPlan? plan)
    {
        plan ??= new NormalizerPlan();
        try
        {
            return Create(architecture, input, classes, plan.NewFactory());
        }
        catch (ArgumentException e) when (e.ParamName is not (nameof(architecture) or nameof(input) or nameof(classes)))
        {
            var channels = NormalizedChannels(architecture, classes).Distinct().ToArray();
            var divisors = Enumerable.Range(1, (int)channels.Min()).Where(g => channels.All(c => c % g == 0));
            throw new ArgumentException(
                $"The normalizer \"{plan}\" does not fit {Name(architecture)}, whose normalized layers have {string.Join(", ", channels)} channels; " +
                $"a group count must divide all of them: {string.Join(", ", divisors)}. ({e.Message})", nameof(plan), e);
        }
    }

    /// <summary>
    /// The channel count of each normalization layer of <paramref name="architecture"/> for <paramref name="classes"/>
    /// classes, in network order (the order its normalizer factory is called in), without building it.
    /// </summary>
    internal static long[] NormalizedChannels(Architecture architecture, int classes) => architecture switch
    {
        Architecture.LeNet => LeNet.NormalizedChannels,
        Architecture.NetworkInNetwork => NetworkInNetwork.NormalizedChannels(classes),
        Architecture.Vgg11 => Vgg.NormalizedChannels(11)!,
        Architecture.Vgg13 => Vgg.NormalizedChannels(13)!,
        Architecture.Vgg16 => Vgg.NormalizedChannels(16)!,
        Architecture.ResNet20 => ResNetCifar.NormalizedChannels(20),
        Architecture.ResNet32 => ResNetCifar.NormalizedChannels(32),
        Architecture.ResNet56 => ResNetCifar.NormalizedChannels(56),
        Architecture.ResNet18 => ResNet18.NormalizedChannels,
        _ => throw UnknownArchitecture(architecture),
    };

    /// <summary>
    /// A new <paramref name="architecture"/> whose normalization layers <paramref name="normalization"/> makes,
    /// called with each layer's channel count in network order.
    /// </summary>
    internal static nn.Module<Tensor, Tensor> Create(Architecture architecture, ImageShape input, int classes, Func<long, nn.Module<Tensor, Tensor>> normalization)
    {
        ArgumentNullException.ThrowIfNull(normalization);
        CheckInput(architecture, input, classes);
        return architecture switch
        {
            Architecture.LeNet => new LeNet(input, classes, normalization),
            Architecture.NetworkInNetwork => new NetworkInNetwork(input, classes, normalization),
            Architecture.Vgg11 => new Vgg(11, input, classes, normalization),
            Architecture.Vgg13 => new Vgg(13, input, classes, normalization),
            Architecture.Vgg16 => new Vgg(16, input, classes, normalization),
            Architecture.ResNet20 => new ResNetCifar(20, input.Channels, classes, normalization),
            Architecture.ResNet32 => new ResNetCifar(32, input.Channels, classes, normalization),
            Architecture.ResNet56 => new ResNetCifar(56, input.Channels, classes, normalization),
            Architecture.ResNet18 => new ResNet18(input, classes, normalization),
            _ => throw UnknownArchitecture(architecture),
        };
    }

    /// <summary>
    /// A user's backbone from <paramref name="factory"/>, its normalization layers made by <paramref name="plan"/>
    /// ("bn" in every layer when null), checked to be a usable classifier: it must have parameters.
    /// </summary>
    /// <exception cref="InvalidOperationException">When the factory returns null or a module without parameters.</exception>
    public static nn.Module<Tensor, Tensor> Create(BackboneFactory factory, ImageShape input, int classes, NormalizerPlan? plan)
    {
        ArgumentNullException.ThrowIfNull(factory);
        if (input.Channels <= 0 || input.Height <= 0 || input.Width <= 0)
            throw new ArgumentOutOfRangeException(nameof(input), input, $"The images need at least one channel and one pixel; got {input}.");
        if (classes <= 0)
            throw new ArgumentOutOfRangeException(nameof(classes), classes, "The classifier needs at least one class.");
        var model = factory(input, classes, (plan ?? new NormalizerPlan()).NewFactory())
            ?? throw new InvalidOperationException($"The {nameof(BackboneFactory)} returned null; return a new nn.Module<Tensor, Tensor>.");
        if (!model.parameters().Any())
        {
            model.Dispose();
            throw new InvalidOperationException($"The {nameof(BackboneFactory)}'s module has no parameters to train; register its layers (fields, or register_module) so that parameters() finds them.");
        }
        return model;
    }

    /// <summary>
    /// Throws unless <paramref name="architecture"/> takes <paramref name="input"/> images and <paramref name="classes"/>
    /// classes: checked for every architecture alike, before any layer is made, since the CIFAR ResNets take no image
    /// size (the other constructors check again for direct use).
    /// </summary>
    internal static void CheckInput(Architecture architecture, ImageShape input, int classes) =>
        CheckInput(Name(architecture), input, classes, MinimumImageSize(architecture));

    /// <summary>The smallest height and width <paramref name="architecture"/> takes (each class documents why).</summary>
    public static int MinimumImageSize(Architecture architecture) => architecture switch
    {
        Architecture.LeNet => LeNet.MinimumImageSize,
        Architecture.NetworkInNetwork => NetworkInNetwork.MinimumImageSize,
        Architecture.Vgg11 or Architecture.Vgg13 or Architecture.Vgg16 => Vgg.MinimumImageSize,
        Architecture.ResNet20 or Architecture.ResNet32 or Architecture.ResNet56 => ResNetCifar.MinimumImageSize,
        Architecture.ResNet18 => ResNet18.MinimumImageSize,
        _ => throw UnknownArchitecture(architecture),
    };

    private static string Name(Architecture architecture) => architecture switch
    {
        Architecture.Vgg11 or Architecture.Vgg13 or Architecture.Vgg16 => $"VGG-{architecture.ToString()[3..]}",
        Architecture.ResNet20 or Architecture.ResNet32 or Architecture.ResNet56 => $"ResNet-{architecture.ToString()[6..]}",
        _ => architecture.ToString(),
    };

    private static ArgumentOutOfRangeException UnknownArchitecture(Architecture architecture) =>
        new(nameof(architecture), architecture,
            $"There is no architecture {(int)architecture}; use one of {string.Join(", ", Enum.GetNames<Architecture>())}.");

    /// <summary>
    /// Throws unless the images have channels and are at least <paramref name="minimumSize"/> pixels high and wide,
    /// and there is at least one class; <paramref name="network"/> names the network in the messages.
    /// </summary>
    internal static void CheckInput(string network, ImageShape input, int classes, int minimumSize)
    {
        if (input.Channels <= 0)
            throw new ArgumentOutOfRangeException(nameof(input), input, $"{network}: images need at least one channel; got {input.Channels}.");
        if (input.Height < minimumSize || input.Width < minimumSize)
            throw new ArgumentException(
                $"{network} needs images of at least {minimumSize}x{minimumSize} pixels, got {input.Height}x{input.Width}: " +
                $"resize or pad the images to at least {minimumSize}x{minimumSize}, or use a network made for smaller images.", nameof(input));
        if (classes <= 0)
            throw new ArgumentOutOfRangeException(nameof(classes), classes, $"{network}: the classifier needs at least one class.");
    }

    /// <summary>
    /// A convolution without bias and the normalizer of its output channels, made in that order so that
    /// layers come out of the factory in network order. The normalizer's beta does what the bias would,
    /// and a bias before a normalizer that subtracts a mean would be removed by it anyway.
    /// </summary>
    internal static ConvNorm NewConvNorm(long inChannels, long outChannels, long kernelSize, Func<long, nn.Module<Tensor, Tensor>> normalization,
                                         long stride = 1, long padding = 0)
    {
        var conv = nn.Conv2d(inChannels, outChannels, kernelSize, stride: stride, padding: padding, bias: false);
        return new ConvNorm(conv, normalization(outChannels));
    }

    /// <summary>
    /// He et al.'s (2015) normal initialization, std sqrt(2 / fan_in), for every convolution: each is
    /// followed by a ReLU (through its normalizer), and this keeps activation variances steady with depth
    /// should a normalizer not rescale them (GN or IN over few pixels, or MN's weighted modes).
    /// </summary>
    internal static void InitializeConvolutions(nn.Module model)
    {
        using var noGrad = no_grad();
        foreach (var (_, module) in model.named_modules())
            if (module is Conv2d conv) nn.init.kaiming_normal_(conv.weight, mode: nn.init.FanInOut.FanIn, nonlinearity: nn.init.NonlinearityType.ReLU);
    }

    /// <summary>
    /// A hidden fully connected layer that a ReLU follows: He normal like the convolutions, bias 0.
    /// </summary>
    internal static void InitializeHidden(Linear layer)
    {
        using var noGrad = no_grad();
        nn.init.kaiming_normal_(layer.weight, mode: nn.init.FanInOut.FanIn, nonlinearity: nn.init.NonlinearityType.ReLU);
        nn.init.zeros_(layer.bias!);
    }

    /// <summary>
    /// The classifier: weights N(0, 0.01²) and bias 0, so that the first logits are small and the first
    /// softmax is close to uniform (a loss near ln(classes)) whatever scale the features have.
    /// </summary>
    internal static void InitializeClassifier(Linear classifier)
    {
        using var noGrad = no_grad();
        nn.init.normal_(classifier.weight, 0, 0.01);
        nn.init.zeros_(classifier.bias!);
    }
}
