using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MLNetNormalization.Normalization.Core;

/// <summary>
/// Keeps glibc malloc from returning libtorch's large tensor buffers to the OS after every training step. By
/// default glibc serves blocks over 128 KiB-32 MiB (its threshold adapts) with mmap and trims the heap's top above
/// 128 KiB, so each step's activations are mapped, zero-filled by page faults, and unmapped again, which made page
/// faults a large share of a TorchSharp ResNet-20 step (bench/results.md). Blocks up to 32 MiB from the heap and a
/// 1 GiB trim threshold let a step reuse the previous step's memory. Set once, when this assembly loads; a
/// program's own MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ (or GLIBC_TUNABLES) settings win.
/// </summary>
internal static class GlibcMallocSettings
{
    private const int TrimThreshold = -1;   // M_TRIM_THRESHOLD
    private const int MmapThreshold = -3;   // M_MMAP_THRESHOLD

    internal const int MmapThresholdBytes = 32 << 20;
    internal const int TrimThresholdBytes = 1 << 30;

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int parameter, int value);

#pragma warning disable CA2255 // The settings must precede the first tensor a program allocates through this library.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Apply()
    {
        if (!OperatingSystem.IsLinux()) return;
        var tunables = Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "";
        try
        {
            if (Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is null && !tunables.Contains("glibc.malloc.mmap_threshold", StringComparison.Ordinal))
                Mallopt(MmapThreshold, MmapThresholdBytes);
            if (Environment.GetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_") is null && !tunables.Contains("glibc.malloc.trim_threshold", StringComparison.Ordinal))
                Mallopt(TrimThreshold, TrimThresholdBytes);
        }
        catch (EntryPointNotFoundException)
        {
            // A C library without mallopt (musl): its allocator has no such thresholds to set.
        }
    }
}
