namespace MLNetNormalization.TorchBinding;

public enum DeviceType
{
    Cpu = 0,
    Cuda = 1,
}

/// <summary>Where a tensor lives: the CPU, or one CUDA device.</summary>
public readonly record struct Device(DeviceType Type, int Index)
{
    public static Device Cpu { get; } = new(DeviceType.Cpu, -1);

    public static Device Cuda(int index = 0) => new(DeviceType.Cuda, index);

    public override string ToString() => Type == DeviceType.Cpu ? "cpu" : $"cuda:{Index}";
}
