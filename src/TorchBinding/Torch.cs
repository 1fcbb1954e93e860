using System.Runtime.InteropServices;

namespace MLNetNormalization.TorchBinding;

/// <summary>Tensor creation, scopes and process-wide libtorch settings.</summary>
public static unsafe class Torch
{
    /// <summary>The libtorch version the shim was built against.</summary>
    public static string Version => Marshal.PtrToStringUTF8(Native.mln_torch_version()) ?? "";

    /// <summary>Native tensor handles alive now: flat across training steps when every step runs in a <see cref="DisposeScope"/>.</summary>
    public static long LiveTensorCount => Native.mln_live_tensor_count();

    /// <summary>Seeds libtorch's global generator (parameter init, dropout, and creation without a <see cref="Generator"/>).</summary>
    public static void ManualSeed(ulong seed) => Native.Check(Native.mln_manual_seed(seed));

    /// <summary>The global generator's full state (a UInt8 tensor), to save with a checkpoint.</summary>
    public static Tensor GetRngState() => new(Native.mln_default_generator_get_state());

    /// <summary>Restores a state from <see cref="GetRngState"/>: the global stream then draws what it would have drawn from there.</summary>
    public static void SetRngState(Tensor state) => Native.Check(Native.mln_default_generator_set_state(state.Handle));

    /// <summary>Intra-op threads: one per core unless OMP_NUM_THREADS says otherwise.</summary>
    public static int Threads
    {
        get => Native.mln_get_num_threads();
        set => Native.Check(Native.mln_set_num_threads(value));
    }

    public static bool IsCudaAvailable => Native.mln_cuda_is_available() != 0;

    public static int CudaDeviceCount => Native.mln_cuda_device_count();

    /// <summary>Waits for queued CUDA work to finish (for timing).</summary>
    public static void CudaSynchronize() => Native.Check(Native.mln_cuda_synchronize());

    /// <summary>Opens a scope that frees, on dispose, every tensor created on this thread meanwhile.</summary>
    public static DisposeScope NewDisposeScope() => new();

    /// <summary>Stops recording operations for autograd until the returned scope is disposed.</summary>
    public static GradModeScope NoGrad() => new(false);

    public static GradModeScope EnableGrad() => new(true);

    public static bool IsGradEnabled => Native.mln_grad_enabled() != 0;

    // ----- creation -----

    public static Tensor Zeros(ReadOnlySpan<long> shape, ScalarType type = ScalarType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        fixed (long* s = shape) return new(Native.mln_zeros(s, shape.Length, (int)type, (int)d.Type, d.Index));
    }

    public static Tensor Ones(ReadOnlySpan<long> shape, ScalarType type = ScalarType.Float32, Device? device = null) =>
        Full(shape, 1, type, device);

    public static Tensor Full(ReadOnlySpan<long> shape, double value, ScalarType type = ScalarType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        fixed (long* s = shape) return new(Native.mln_full(s, shape.Length, value, (int)type, (int)d.Type, d.Index));
    }

    /// <summary>A one-element tensor of rank 0.</summary>
    public static Tensor Scalar(double value, ScalarType type = ScalarType.Float32, Device? device = null) =>
        Full([], value, type, device);

    /// <summary>start, start+step, ... below end, as Int64 (integer arguments pick this overload, as in PyTorch).</summary>
    public static Tensor Arange(long start, long end, long step = 1, Device? device = null) =>
        Arange(start, end, step, ScalarType.Int64, device);

    /// <summary>start, start+step, ... below end, as Float32 unless another type is asked for.</summary>
    public static Tensor Arange(double start, double end, double step = 1, ScalarType type = ScalarType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        return new(Native.mln_arange(start, end, step, (int)type, (int)d.Type, d.Index));
    }

    /// <summary>Uniform values in [0, 1).</summary>
    public static Tensor Rand(ReadOnlySpan<long> shape, Generator? generator = null, ScalarType type = ScalarType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        fixed (long* s = shape)
            return new(Native.mln_rand(s, shape.Length, generator?.Handle ?? IntPtr.Zero, (int)type, (int)d.Type, d.Index));
    }

    /// <summary>Standard normal values.</summary>
    public static Tensor Randn(ReadOnlySpan<long> shape, Generator? generator = null, ScalarType type = ScalarType.Float32, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        fixed (long* s = shape)
            return new(Native.mln_randn(s, shape.Length, generator?.Handle ?? IntPtr.Zero, (int)type, (int)d.Type, d.Index));
    }

    /// <summary>Int64 values uniform in [low, high).</summary>
    public static Tensor RandInt(long low, long high, ReadOnlySpan<long> shape, Generator? generator = null, Device? device = null)
    {
        var d = device ?? Device.Cpu;
        fixed (long* s = shape)
            return new(Native.mln_randint(low, high, s, shape.Length, generator?.Handle ?? IntPtr.Zero, (int)d.Type, d.Index));
    }

    /// <summary>A random permutation of 0 .. n-1 (Int64, CPU).</summary>
    public static Tensor RandPerm(long n, Generator? generator = null) =>
        new(Native.mln_randperm(n, generator?.Handle ?? IntPtr.Zero));

    // ----- joining and selecting -----

    public static Tensor Cat(IReadOnlyList<Tensor> tensors, long dim = 0) => Join(tensors, dim, stack: false);

    public static Tensor Stack(IReadOnlyList<Tensor> tensors, long dim = 0) => Join(tensors, dim, stack: true);

    private static Tensor Join(IReadOnlyList<Tensor> tensors, long dim, bool stack)
    {
        var handles = new IntPtr[tensors.Count];
        for (var i = 0; i < handles.Length; i++) handles[i] = tensors[i].Handle;
        fixed (IntPtr* h = handles)
            return new(stack ? Native.mln_stack(h, handles.Length, dim) : Native.mln_cat(h, handles.Length, dim));
    }

    /// <summary>Element-wise choice: a where condition holds, b elsewhere.</summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b) =>
        new(Native.mln_where(condition.Handle, a.Handle, b.Handle));
}
