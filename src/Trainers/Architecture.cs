namespace MLNetNormalization;

/// <summary>The backbones the trainer builds (Backbones/): those the mode-normalization paper trains.</summary>
public enum Architecture
{
    /// <summary>LeNet: two 5x5 convolutions and two fully connected layers (the paper's multi-task network).</summary>
    LeNet,

    /// <summary>Network in Network: the CIFAR NIN of Lin et al. with a normalizer after every convolution.</summary>
    NetworkInNetwork,

    /// <summary>VGG configuration A: 8 convolutions.</summary>
    Vgg11,

    /// <summary>VGG configuration B: 10 convolutions.</summary>
    Vgg13,

    /// <summary>VGG configuration D: 13 convolutions.</summary>
    Vgg16,

    /// <summary>The CIFAR ResNet of depth 20 (3 blocks per stage).</summary>
    ResNet20,

    /// <summary>The CIFAR ResNet of depth 32 (5 blocks per stage).</summary>
    ResNet32,

    /// <summary>The CIFAR ResNet of depth 56 (9 blocks per stage).</summary>
    ResNet56,

    /// <summary>The ImageNet ResNet-18.</summary>
    ResNet18,
}
