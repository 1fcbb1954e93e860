using System.Buffers.Binary;

namespace MLNetNormalization.Build.TorchSharpCompat;

/// <summary>What <see cref="LibStdCxxVersionPatch.Apply"/> did to a library.</summary>
public enum PatchOutcome
{
    /// <summary>The system libstdc++ defines every version the library needs; the file was not touched.</summary>
    NotNeeded,

    /// <summary>Every missing version was already weak (patched before); the file was not touched.</summary>
    AlreadyPatched,

    /// <summary>The missing versions were marked weak and the file was rewritten.</summary>
    Patched,
}

/// <summary>The outcome of a patch and the libstdc++ versions it concerns.</summary>
/// <param name="Outcome">What was done.</param>
/// <param name="MissingVersions">The versions the library needs that the system libstdc++ lacks (empty when
/// <see cref="PatchOutcome.NotNeeded"/>).</param>
public sealed record PatchReport(PatchOutcome Outcome, IReadOnlyList<string> MissingVersions);

/// <summary>A version need that cannot be made weak: a symbol bound to it is really used.</summary>
public sealed class UnpatchableLibraryException(string message) : Exception(message);

/// <summary>
/// Lets a library built with a newer GCC load with an older libstdc++ when what it needs from the newer one is a
/// version tag and nothing else. TorchSharp 0.107's <c>libLibTorchSharp.so</c> is built with GCC 13, whose
/// <c>&lt;iostream&gt;</c> names <c>std::ios_base_library_init()</c> (<c>GLIBCXX_3.4.32</c>) without calling it, so that
/// linking needs a libstdc++ that initializes the standard streams itself; no relocation refers to it, so the loader
/// never looks it up. Debian 12 and Ubuntu 22.04 ship libstdc++ up to <c>GLIBCXX_3.4.30</c>, and the loader refuses a
/// library whose version need is missing unless the need is marked weak (<c>VER_FLG_WEAK</c>), in which case it goes
/// on. The streams are initialized there anyway: <c>libc10.so</c> and <c>libtorch_cpu.so</c>, which
/// <c>libLibTorchSharp.so</c> needs and so are initialized first, construct <c>std::ios_base::Init</c> as libraries
/// built before GCC 13 do.
/// </summary>
public static class LibStdCxxVersionPatch
{
    /// <summary>The soname under which libraries need libstdc++.</summary>
    public const string LibStdCxxSoname = "libstdc++.so.6";

    /// <summary><c>VER_FLG_WEAK</c>: a missing version is then a warning of <c>ldd -v</c>, not a load error.</summary>
    public const ushort WeakVersionFlag = 0x2;

    /// <summary>The versions in <paramref name="needed"/> that <paramref name="provided"/> lacks, in the order needed.</summary>
    public static IReadOnlyList<string> MissingVersions(IEnumerable<string> needed, IReadOnlySet<string> provided) =>
        needed.Where(version => !provided.Contains(version)).Distinct().ToList();

    /// <summary>
    /// Marks weak every version that the library at <paramref name="libraryPath"/> needs from libstdc++ and
    /// <paramref name="providedBySystemLibStdCxx"/> lacks. The file is rewritten only when some such version is not
    /// weak yet, through a new file renamed over it, so a hard link into a package cache is never changed.
    /// </summary>
    /// <param name="libraryPath">The library to patch, in a build output.</param>
    /// <param name="providedBySystemLibStdCxx">The versions the system libstdc++ defines (see <see cref="SystemLibStdCxx"/>).</param>
    /// <exception cref="UnpatchableLibraryException">A missing version has a symbol that a relocation binds: a weak
    /// need would only turn the load error into an unresolved symbol.</exception>
    public static PatchReport Apply(string libraryPath, IReadOnlySet<string> providedBySystemLibStdCxx)
    {
        var bytes = File.ReadAllBytes(libraryPath);
        var image = ElfImage.Parse(bytes, libraryPath);
        var needsFromLibStdCxx = image.VersionNeeds().Where(need => need.File == LibStdCxxSoname).ToList();
        var missingVersions = MissingVersions(needsFromLibStdCxx.Select(need => need.Version), providedBySystemLibStdCxx);
        if (missingVersions.Count == 0)
            return new PatchReport(PatchOutcome.NotNeeded, missingVersions);

        var missingNeeds = needsFromLibStdCxx.Where(need => missingVersions.Contains(need.Version)).ToList();
        RequireNoBoundSymbols(image, missingNeeds, libraryPath);
        if (missingNeeds.All(need => (need.Flags & WeakVersionFlag) != 0))
            return new PatchReport(PatchOutcome.AlreadyPatched, missingVersions);

        foreach (var need in missingNeeds)
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(need.FlagsOffset, 2), (ushort)(need.Flags | WeakVersionFlag));
        ReplaceFile(libraryPath, bytes);
        return new PatchReport(PatchOutcome.Patched, missingVersions);
    }

    private static void RequireNoBoundSymbols(ElfImage image, IReadOnlyList<VersionNeed> missingNeeds, string libraryPath)
    {
        var bound = image.SymbolsBoundByRelocations();
        var symbols = image.DynamicSymbols();
        foreach (var need in missingNeeds)
        {
            var used = symbols.FirstOrDefault(s => s.VersionIndex == need.Index && bound.Contains(s.Index));
            if (used is not null)
                throw new UnpatchableLibraryException(
                    $"{Path.GetFileName(libraryPath)} uses {used.Name} from {need.Version}, which the system libstdc++ lacks; install a libstdc++ from GCC 13 or newer (libstdc++6 >= 13).");
        }
    }

    private static void ReplaceFile(string path, byte[] bytes)
    {
        var temporary = path + ".patching";
        File.WriteAllBytes(temporary, bytes);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(temporary, File.GetUnixFileMode(path));
        File.Move(temporary, path, overwrite: true);
    }
}
