namespace MLNetNormalization;

/// <summary>Where a classifier trains and predicts.</summary>
public enum ComputeDevice
{
    /// <summary>The first CUDA GPU when TorchSharp has one (<c>torch.cuda.is_available()</c>), else the CPU.</summary>
    Auto,

    /// <summary>The CPU.</summary>
    Cpu,

    /// <summary>
    /// The first CUDA GPU. Where TorchSharp has none (the application references TorchSharp-cpu, or the machine has no
    /// NVIDIA GPU), Fit throws an <see cref="ArgumentException"/> before reading any data, naming the package to add
    /// instead: TorchSharp-cuda-linux or TorchSharp-cuda-windows.
    /// </summary>
    Cuda,
}
