namespace MLNetNormalization;

/// <summary>The backbones that <see cref="Trainers.Backbones.Backbone.Create(Architecture, Trainers.ImageShape, int, Trainers.Backbones.NormalizerPlan)"/> builds: those the mode-normalization paper trains.</summary>
public enum Architecture
{
    /// <summary><see cref="Trainers.Backbones.LeNet"/>: two 5x5 convolutions and two fully connected layers (the paper's multi-task network).</summary>
    LeNet,

    /// <summary><see cref="Trainers.Backbones.NetworkInNetwork"/>: the CIFAR NIN of Lin et al. with a normalizer after every convolution.</summary>
    NetworkInNetwork,

    /// <summary><see cref="Trainers.Backbones.Vgg"/> configuration A: 8 convolutions.</summary>
    Vgg11,

    /// <summary><see cref="Trainers.Backbones.Vgg"/> configuration B: 10 convolutions.</summary>
    Vgg13,

    /// <summary><see cref="Trainers.Backbones.Vgg"/> configuration D: 13 convolutions.</summary>
    Vgg16,

    /// <summary><see cref="Trainers.Backbones.ResNetCifar"/> of depth 20 (3 blocks per stage).</summary>
    ResNet20,

    /// <summary><see cref="Trainers.Backbones.ResNetCifar"/> of depth 32 (5 blocks per stage).</summary>
    ResNet32,

    /// <summary><see cref="Trainers.Backbones.ResNetCifar"/> of depth 56 (9 blocks per stage).</summary>
    ResNet56,

    /// <summary><see cref="Trainers.Backbones.ResNet18"/>: the ImageNet ResNet-18.</summary>
    ResNet18,
}
