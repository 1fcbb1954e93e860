namespace MLNetNormalization;

/// <summary>Where a classifier trains and predicts.</summary>
public enum ComputeDevice
{
    /// <summary>The first CUDA GPU when libtorch has one, else the CPU.</summary>
    Auto,

    /// <summary>The CPU.</summary>
    Cpu,

    /// <summary>The first CUDA GPU; an error where libtorch has none.</summary>
    Cuda,
}
