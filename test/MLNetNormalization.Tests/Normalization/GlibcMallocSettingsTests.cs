using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Support;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>
/// Loading the layers' assembly raises glibc's mmap threshold, so a tensor-sized block (16 MiB) comes from the heap
/// and stays there when freed, instead of being mapped and unmapped on every training step. Observed through glibc's
/// own counters (mallinfo2: hblks counts the blocks currently served by mmap).
/// </summary>
[Collection(TestCollections.NativeMemory)]
public class GlibcMallocSettingsTests
{
    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint Arena, OrdBlks, SmBlks, HBlks, HBlkHd, UsMBlks, FsMBlks, UordBlks, FordBlks, KeepCost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallInfo2 Mallinfo2();

    [DllImport("libc", EntryPoint = "malloc")]
    private static extern nint Malloc(nuint size);

    [DllImport("libc", EntryPoint = "free")]
    private static extern void Free(nint block);

    [Fact]
    public void ABlockOfSixteenMebibytesComesFromTheHeapOnceTheLibraryIsLoaded()
    {
        RuntimeHelpers.RunModuleConstructor(typeof(BatchNorm).Module.ModuleHandle);
        var mappedBefore = Mallinfo2().HBlks;
        var block = Malloc(16 << 20);
        Assert.NotEqual(0, block);
        try
        {
            Assert.Equal(mappedBefore, Mallinfo2().HBlks);
        }
        finally
        {
            Free(block);
        }
    }
}
