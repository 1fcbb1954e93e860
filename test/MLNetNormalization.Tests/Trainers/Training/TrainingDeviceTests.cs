using MLNetNormalization.Tests.Support;
using MLNetNormalization.Training;
using static MLNetNormalization.Tests.Trainers.Training.TrainerRuns;

namespace MLNetNormalization.Tests.Trainers.Training;

/// <summary>The device choice: the CPU always, CUDA only where TorchSharp has it, and an error naming the package otherwise.</summary>
[Collection(TestCollections.GlobalRandom)]
public sealed class TrainingDeviceTests
{
    [Fact]
    public void CpuIsTheCpuAndAutoFallsBackToIt()
    {
        Assert.Equal(DeviceType.CPU, TrainingDevice.Resolve(ComputeDevice.Cpu, ContextDevice.None).Device.type);
        Assert.Equal(cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU, TrainingDevice.Resolve(ComputeDevice.Auto, ContextDevice.None).Device.type);
    }

    [Fact]
    public void CudaWithoutACudaBuildIsAnErrorNamingThePackagesToAdd()
    {
        if (cuda.is_available())
        {
            Assert.Equal(DeviceType.CUDA, TrainingDevice.Resolve(ComputeDevice.Cuda, ContextDevice.None).Device.type);
            return;
        }
        var error = Assert.Throws<InvalidOperationException>(() => TrainingDevice.Resolve(ComputeDevice.Cuda, ContextDevice.None));
        Assert.Contains("TorchSharp-cuda-linux", error.Message, StringComparison.Ordinal);
        Assert.Contains("TorchSharp-cuda-windows", error.Message, StringComparison.Ordinal);
        Assert.Contains("ComputeDevice.Cpu", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownDeviceIsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => TrainingDevice.Resolve((ComputeDevice)42, ContextDevice.None));

    [Fact]
    public void TrainingRefusesAModelOnACudaDeviceTorchSharpCannotUseBeforeAnyWork()
    {
        if (cuda.is_available()) return;   // the check below is about a machine without CUDA
        using var model = TinyNet.Create();
        // A model cannot be moved to CUDA here, so the check is on the device alone; the trainer calls it first.
        var error = Assert.Throws<InvalidOperationException>(() => TrainingDevice.EnsureAvailable(new Device(DeviceType.CUDA, 0)));
        Assert.Contains("TorchSharp-cuda-linux", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(model.parameters(), p => p.device_type != DeviceType.CPU);
    }
}
