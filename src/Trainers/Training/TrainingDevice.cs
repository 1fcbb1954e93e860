using TorchSharp;
using static TorchSharp.torch;

namespace MLNetNormalization.Trainers.Training;

/// <summary>Turns a <see cref="ComputeDevice"/> choice into the TorchSharp device to train and predict on.</summary>
public static class TrainingDevice
{
    /// <summary>The NuGet packages that bring TorchSharp's CUDA build, by operating system.</summary>
    public const string CudaPackages = "TorchSharp-cuda-linux (Linux) or TorchSharp-cuda-windows (Windows)";

    /// <summary>
    /// <see cref="ComputeDevice.Cpu"/>: the CPU. <see cref="ComputeDevice.Cuda"/>: the first CUDA GPU.
    /// <see cref="ComputeDevice.Auto"/>: the first CUDA GPU when <c>torch.cuda.is_available()</c>, else the CPU.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// For <see cref="ComputeDevice.Cuda"/> when TorchSharp sees no CUDA GPU: the application references the CPU
    /// build of libtorch (TorchSharp-cpu), or the machine has no usable GPU or driver.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException">For a value that is not a <see cref="ComputeDevice"/>.</exception>
    public static Device Resolve(ComputeDevice device) => device switch
    {
        ComputeDevice.Cpu => CPU,
        ComputeDevice.Auto => cuda.is_available() ? CUDA : CPU,
        ComputeDevice.Cuda => cuda.is_available() ? CUDA : throw CudaUnavailable(),
        _ => throw new ArgumentOutOfRangeException(nameof(device), device, $"Use one of {string.Join(", ", Enum.GetNames<ComputeDevice>())}."),
    };

    /// <summary>Throws <see cref="CudaUnavailable"/>'s error when <paramref name="device"/> is a CUDA device and TorchSharp sees none.</summary>
    public static void EnsureAvailable(Device device)
    {
        if (device.type == DeviceType.CUDA && !cuda.is_available()) throw CudaUnavailable();
    }

    /// <summary>The error for a CUDA device that TorchSharp cannot give, naming the package to add.</summary>
    public static InvalidOperationException CudaUnavailable() => new(
        "ComputeDevice.Cuda was asked for, but TorchSharp finds no CUDA GPU (torch.cuda.is_available() is false). " +
        $"Reference the CUDA build of libtorch, the package {CudaPackages}, in place of TorchSharp-cpu, and check that the machine " +
        "has an NVIDIA GPU and driver; or choose ComputeDevice.Cpu (or Auto, which falls back to the CPU).");
}
