using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using MLNetNormalization.Build.TorchSharpCompat;

namespace MLNetNormalization.Tests.TorchSharpCompat;

/// <summary>
/// The build step's patch (<see cref="LibStdCxxVersionPatch"/>) on copies of the packaged libLibTorchSharp.so: it marks
/// weak exactly the libstdc++ version the system lacks, is idempotent, changes nothing where the system has the
/// version, refuses a version whose symbols are used, and the library it makes loads.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class LibStdCxxVersionPatchTests : IDisposable
{
    /// <summary>The version GCC 13 ties to std::ios_base_library_init(), which Debian 12's libstdc++ (3.4.30) lacks.</summary>
    private const string IosBaseLibraryInitVersion = "GLIBCXX_3.4.32";

    /// <summary><c>VER_FLG_WEAK</c> of glibc's elf.h, written out so that the test does not take the patch's word.</summary>
    private const int WeakFlag = 0x2;

    private readonly string root = Directory.CreateTempSubdirectory("mlnorm-torchsharp-compat-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void MissingVersionsIsEmptyWhereLibStdCxxDefinesTheVersionAndNamesItWhereNot()
    {
        string[] needed = ["GLIBCXX_3.4.30", "GLIBCXX_3.4", IosBaseLibraryInitVersion];
        var gcc13 = new HashSet<string> { "GLIBCXX_3.4", "GLIBCXX_3.4.30", "GLIBCXX_3.4.31", IosBaseLibraryInitVersion };
        var gcc12 = new HashSet<string> { "GLIBCXX_3.4", "GLIBCXX_3.4.29", "GLIBCXX_3.4.30" };

        Assert.Empty(LibStdCxxVersionPatch.MissingVersions(needed, gcc13));
        Assert.Equal([IosBaseLibraryInitVersion], LibStdCxxVersionPatch.MissingVersions(needed, gcc12));
    }

    [Fact]
    public void PatchMarksOnlyTheMissingVersionWeakInOneByteAndLeavesThePackageAlone()
    {
        var packagedBefore = File.ReadAllBytes(TorchSharpProbeProcess.PackagedLibTorchSharpPath);
        var library = CopyOfPackagedLibrary();

        var report = LibStdCxxVersionPatch.Apply(library, LibStdCxxNeededBy(library, except: IosBaseLibraryInitVersion));

        Assert.Equal(PatchOutcome.Patched, report.Outcome);
        Assert.Equal([IosBaseLibraryInitVersion], report.MissingVersions);
        var needsBefore = ElfImage.Parse(packagedBefore, "the packaged library").VersionNeeds();
        var needsAfter = ElfImage.Read(library).VersionNeeds();
        Assert.Equal(needsBefore.Count, needsAfter.Count);
        foreach (var (before, after) in needsBefore.Zip(needsAfter))
        {
            var expectedFlags = before.Version == IosBaseLibraryInitVersion ? before.Flags | WeakFlag : before.Flags;
            Assert.True(expectedFlags == after.Flags, $"{after.File} {after.Version}: flags {after.Flags}, expected {expectedFlags}");
        }
        Assert.Equal(0, needsBefore.Single(n => n.Version == IosBaseLibraryInitVersion).Flags & WeakFlag);
        Assert.Equal(1, CountDifferentBytes(packagedBefore, File.ReadAllBytes(library)));
        Assert.Equal(File.GetUnixFileMode(TorchSharpProbeProcess.PackagedLibTorchSharpPath), File.GetUnixFileMode(library));
        Assert.Equal(packagedBefore, File.ReadAllBytes(TorchSharpProbeProcess.PackagedLibTorchSharpPath));
    }

    [Fact]
    public void PatchOfAHardLinkLeavesTheFileItSharesAlone()
    {
        // A build may hard-link its output to the package cache (CreateHardLinksForCopyLocalIfPossible).
        var cached = CopyOfPackagedLibrary("cache");
        var output = Path.Combine(Directory.CreateDirectory(Path.Combine(root, "output")).FullName, "libLibTorchSharp.so");
        Assert.True(Link(cached, output) == 0, $"link failed: errno {Marshal.GetLastPInvokeError()}");

        LibStdCxxVersionPatch.Apply(output, LibStdCxxNeededBy(output, except: IosBaseLibraryInitVersion));

        Assert.Equal(File.ReadAllBytes(TorchSharpProbeProcess.PackagedLibTorchSharpPath), File.ReadAllBytes(cached));
        Assert.Equal(1, CountDifferentBytes(File.ReadAllBytes(cached), File.ReadAllBytes(output)));
    }

    [Fact]
    public void SecondPatchFindsThePatchAndLeavesTheFileUntouched()
    {
        var library = CopyOfPackagedLibrary();
        var debian12LibStdCxx = LibStdCxxNeededBy(library, except: IosBaseLibraryInitVersion);
        Assert.Equal(PatchOutcome.Patched, LibStdCxxVersionPatch.Apply(library, debian12LibStdCxx).Outcome);
        var once = File.ReadAllBytes(library);
        var writtenAt = File.GetLastWriteTimeUtc(library);

        var again = LibStdCxxVersionPatch.Apply(library, debian12LibStdCxx);

        Assert.Equal(PatchOutcome.AlreadyPatched, again.Outcome);
        Assert.Equal([IosBaseLibraryInitVersion], again.MissingVersions);
        Assert.Equal(once, File.ReadAllBytes(library));
        Assert.Equal(writtenAt, File.GetLastWriteTimeUtc(library));
    }

    [Fact]
    public void NothingChangesWhereTheSystemLibStdCxxDefinesTheVersion()
    {
        var newerLibStdCxx = CopyOfSystemLibStdCxxDefining(IosBaseLibraryInitVersion);
        var provided = SystemLibStdCxx.ProvidedVersions(newerLibStdCxx);
        Assert.Contains(IosBaseLibraryInitVersion, provided);
        var library = CopyOfPackagedLibrary();
        var writtenAt = File.GetLastWriteTimeUtc(library);

        var report = LibStdCxxVersionPatch.Apply(library, provided);

        Assert.Equal(PatchOutcome.NotNeeded, report.Outcome);
        Assert.Empty(report.MissingVersions);
        Assert.Equal(File.ReadAllBytes(TorchSharpProbeProcess.PackagedLibTorchSharpPath), File.ReadAllBytes(library));
        Assert.Equal(writtenAt, File.GetLastWriteTimeUtc(library));
    }

    [Fact]
    public void AMissingVersionWhoseSymbolsAreCalledIsRefusedAndTheFileKept()
    {
        var library = CopyOfPackagedLibrary();
        var gcc11LibStdCxx = LibStdCxxNeededBy(library, except: IosBaseLibraryInitVersion);
        gcc11LibStdCxx.Remove("GLIBCXX_3.4.30");

        var error = Assert.Throws<UnpatchableLibraryException>(() => LibStdCxxVersionPatch.Apply(library, gcc11LibStdCxx));

        Assert.Contains("GLIBCXX_3.4.30", error.Message);
        Assert.Equal(File.ReadAllBytes(TorchSharpProbeProcess.PackagedLibTorchSharpPath), File.ReadAllBytes(library));
    }

    [Fact]
    public void PatchedCopyLoadsAndTheOriginalLoadsOnlyWhereTheSystemLibStdCxxDefinesTheVersion()
    {
        var patched = CopyOfPackagedLibrary("patched");
        LibStdCxxVersionPatch.Apply(patched, LibStdCxxNeededBy(patched, except: IosBaseLibraryInitVersion));
        var original = CopyOfPackagedLibrary("original");
        var systemDefinesVersion = SystemLibStdCxx.ProvidedVersions(SystemLibStdCxx.LocateLoaded()).Contains(IosBaseLibraryInitVersion);

        var patchedLoad = TorchSharpProbeProcess.Run(["--load-library", patched], TorchSharpProbeProcess.NativeDirectory);
        var originalLoad = TorchSharpProbeProcess.Run(["--load-library", original], TorchSharpProbeProcess.NativeDirectory);

        Assert.True(patchedLoad.ExitCode == 0, patchedLoad.Output + patchedLoad.Error);
        Assert.Equal($"loaded {patched}\n", patchedLoad.Output);
        Assert.True(systemDefinesVersion == (originalLoad.ExitCode == 0), originalLoad.Output + originalLoad.Error);
        if (!systemDefinesVersion)
            Assert.Contains($"version `{IosBaseLibraryInitVersion}' not found", originalLoad.Error);
    }

    [Fact]
    public void BuildOutputHoldsThePackagedLibraryPatchedExactlyWhereThisSystemNeedsIt()
    {
        var expected = CopyOfPackagedLibrary();
        LibStdCxxVersionPatch.Apply(expected, SystemLibStdCxx.ProvidedVersions(SystemLibStdCxx.LocateLoaded()));

        var built = Path.Combine(TorchSharpProbeProcess.NativeDirectory, "libLibTorchSharp.so");

        Assert.Equal(File.ReadAllBytes(expected), File.ReadAllBytes(built));
    }

    /// <summary>The versions <paramref name="library"/> needs from libstdc++ but one: what a libstdc++ that lacks that
    /// one and has everything else the library needs provides (Debian 12's, for <c>GLIBCXX_3.4.32</c>).</summary>
    private static HashSet<string> LibStdCxxNeededBy(string library, string except) =>
        ElfImage.Read(library).VersionNeeds()
            .Where(need => need.File == LibStdCxxVersionPatch.LibStdCxxSoname && need.Version != except)
            .Select(need => need.Version)
            .ToHashSet();

    private string CopyOfPackagedLibrary(string folder = "copy")
    {
        var path = Path.Combine(Directory.CreateDirectory(Path.Combine(root, folder)).FullName, "libLibTorchSharp.so");
        File.Copy(TorchSharpProbeProcess.PackagedLibTorchSharpPath, path);
        return path;
    }

    /// <summary>A copy of this system's libstdc++ whose version definitions include <paramref name="version"/>: its
    /// GLIBCXX_3.4.28 (which libLibTorchSharp.so does not need) is renamed, the string being as long.</summary>
    private string CopyOfSystemLibStdCxxDefining(string version)
    {
        var bytes = File.ReadAllBytes(SystemLibStdCxx.LocateLoaded());
        var renamed = Encoding.ASCII.GetBytes("GLIBCXX_3.4.28\0");
        var at = bytes.AsSpan().IndexOf(renamed);
        Assert.True(at >= 0 && bytes.AsSpan(at + 1).IndexOf(renamed) < 0, "GLIBCXX_3.4.28 is not in the system libstdc++ exactly once");
        Encoding.ASCII.GetBytes(version + "\0").CopyTo(bytes, at);
        var path = Path.Combine(root, "libstdc++.so.6");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link(string existingPath, string newPath);

    private static int CountDifferentBytes(byte[] a, byte[] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b).Count(pair => pair.First != pair.Second);
    }
}
