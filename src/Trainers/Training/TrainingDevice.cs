using TorchSharp;
using static TorchSharp.torch;

namespace MLNetNormalization.Training;

/// <summary>
/// What ML.NET's context says about the device, as Microsoft.ML.TorchSharp's trainers read it:
/// <c>MLContext.GpuDeviceId</c> (null: no GPU asked for) and <c>MLContext.FallbackToCpu</c>.
/// </summary>
internal sealed record ContextDevice(int? GpuDeviceId, bool FallbackToCpu)
{
    /// <summary>A context that asks for no GPU.</summary>
    public static readonly ContextDevice None = new(null, false);

    /// <summary>The conventions of the MLContext behind <paramref name="env"/> (its catalogs and hosts carry them).</summary>
    public static ContextDevice Of(Microsoft.ML.Runtime.IHostEnvironment env) =>
        env is Microsoft.ML.Runtime.IHostEnvironmentInternal context ? new(context.GpuDeviceId, context.FallbackToCpu) : None;
}

/// <summary>The device chosen, and what the log should say about how it was chosen (null when nothing needs saying).</summary>
internal sealed record ChosenDevice(Device Device, string? Note);

/// <summary>Turns a <see cref="ComputeDevice"/> choice and the context's device conventions into the TorchSharp device to train and predict on.</summary>
internal static class TrainingDevice
{
    /// <summary>The NuGet packages that bring TorchSharp's CUDA build, by operating system.</summary>
    public const string CudaPackages = "TorchSharp-cuda-linux (Linux) or TorchSharp-cuda-windows (Windows)";

    /// <summary>
    /// <see cref="ComputeDevice.Cpu"/>: the CPU, whatever the context says. <see cref="ComputeDevice.Cuda"/>: CUDA device
    /// <c>GpuDeviceId</c> (0 when the context names none). <see cref="ComputeDevice.Auto"/>: CUDA device <c>GpuDeviceId</c>
    /// when the context names one; else the first CUDA GPU when <c>torch.cuda.is_available()</c>, else the CPU. A GPU asked
    /// for (Cuda, or Auto with a GpuDeviceId) that TorchSharp cannot give is the CPU when <c>FallbackToCpu</c> is true (the
    /// note says so), else an error.
    /// </summary>
    /// <exception cref="InvalidOperationException">A GPU was asked for, TorchSharp cannot give it, and the context does not fall back to the CPU.</exception>
    /// <exception cref="ArgumentOutOfRangeException">For a value that is not a <see cref="ComputeDevice"/>.</exception>
    public static ChosenDevice Resolve(ComputeDevice device, ContextDevice context)
    {
        var asked = device switch
        {
            ComputeDevice.Cpu => (int?)null,
            ComputeDevice.Cuda => context.GpuDeviceId ?? 0,
            ComputeDevice.Auto => context.GpuDeviceId,
            _ => throw new ArgumentOutOfRangeException(nameof(device), device, $"Use one of {string.Join(", ", Enum.GetNames<ComputeDevice>())}."),
        };
        if (asked is not { } index)
            return new(device == ComputeDevice.Auto && cuda.is_available() ? CUDA : CPU, null);
        var available = cuda.is_available() ? cuda.device_count() : 0;
        if (index >= 0 && index < available) return new(torch.device(DeviceType.CUDA, index), null);

        var missing = available == 0
            ? "TorchSharp finds no CUDA GPU (torch.cuda.is_available() is false)"
            : $"TorchSharp finds {available} CUDA device(s), numbered 0 to {available - 1}";
        var what = device == ComputeDevice.Cuda ? $"ComputeDevice.Cuda (device {index}) was asked for" : $"MLContext.GpuDeviceId is {index}";
        if (context.FallbackToCpu)
            return new(CPU, $"{what}, but {missing}; training on the CPU, as MLContext.FallbackToCpu allows.");
        throw new InvalidOperationException(
            $"{what}, but {missing}. " + (available == 0
                ? $"Reference the CUDA build of libtorch, the package {CudaPackages}, in place of TorchSharp-cpu, and check that the machine has an NVIDIA GPU and driver; "
                : $"Set MLContext.GpuDeviceId to a device below {available}; ") +
            "or set MLContext.FallbackToCpu = true to train on the CPU instead" +
            (device == ComputeDevice.Cuda ? ", or choose ComputeDevice.Cpu (or Auto)." : ", or leave MLContext.GpuDeviceId null."));
    }

    /// <summary>Throws <see cref="CudaUnavailable"/>'s error when <paramref name="device"/> is a CUDA device and TorchSharp sees none.</summary>
    public static void EnsureAvailable(Device device)
    {
        if (device.type == DeviceType.CUDA && !cuda.is_available()) throw CudaUnavailable();
    }

    /// <summary>The error for a CUDA device that TorchSharp cannot give, naming the package to add.</summary>
    public static InvalidOperationException CudaUnavailable() => new(
        "A CUDA device was asked for, but TorchSharp finds no CUDA GPU (torch.cuda.is_available() is false). " +
        $"Reference the CUDA build of libtorch, the package {CudaPackages}, in place of TorchSharp-cpu, and check that the machine " +
        "has an NVIDIA GPU and driver; or choose ComputeDevice.Cpu (or Auto, which falls back to the CPU).");
}
