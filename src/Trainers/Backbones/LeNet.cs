using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.NN;

namespace MLNetNormalization.Trainers.Backbones;

/// <summary>
/// LeNet as in Caffe's MNIST example (LeCun et al.), the network of the mode-normalization paper's
/// multi-task experiment: conv5x5-20, 2x2 max-pool, conv5x5-50, 2x2 max-pool, fully connected 500, ReLU,
/// fully connected classifier. Each convolution is followed by a normalizer and a ReLU before its pool.
/// Caffe's LeNet, with conv biases and no normalizers, has 431,080 parameters on 28x28 grey images and
/// 10 classes; here each convolution's bias (20 + 50) gives way to the normalizer's gamma and beta
/// (2·20 + 2·50), 431,150 with BN.
/// </summary>
public sealed class LeNet : Module
{
    /// <summary>
    /// The smallest height and width: after a 5x5 valid convolution and a 2x2 pool, the second 5x5
    /// convolution must leave at least 2 pixels for the second pool: ((16 - 4) / 2 - 4) / 2 = 1.
    /// </summary>
    public const int MinimumImageSize = 16;

    private readonly Sequential features;
    private readonly Linear hidden, classifier;

    /// <param name="input">Any channel count, at least 16x16 (the paper's 28x28 leaves 4x4x50 = 800 features).</param>
    /// <param name="normalization">Builds the normalizer of a layer from its channel count; our "bn" by default.</param>
    public LeNet(ImageShape input, int classes, Func<long, Module>? normalization = null)
    {
        Backbone.CheckInput(nameof(LeNet), input, classes, MinimumImageSize);
        var norm = normalization ?? new NormalizerPlan().NewFactory();

        features = RegisterModule("features", new Sequential(
            Backbone.NewConvNorm(input.Channels, 20, 5, norm), new ReLU(), new MaxPool2d(2),
            Backbone.NewConvNorm(20, 50, 5, norm), new ReLU(), new MaxPool2d(2)));
        // Each valid 5x5 convolution takes 4 pixels off a side, each pool halves (rounding down).
        var height = ((input.Height - 4) / 2 - 4) / 2;
        var width = ((input.Width - 4) / 2 - 4) / 2;
        hidden = RegisterModule("fc1", new Linear(50L * height * width, 500));
        classifier = RegisterModule("fc2", new Linear(500, classes));

        Backbone.InitializeConvolutions(this);
        Backbone.InitializeHidden(hidden);
        Backbone.InitializeClassifier(classifier);
    }

    public override Tensor Forward(Tensor input) =>
        classifier.Forward(hidden.Forward(features.Forward(input).Flatten(1)).ReluInPlace());
}
