namespace MLNetNormalization.Build.TorchSharpCompat;

/// <summary>The libstdc++ that TorchSharp's native library gets on this machine.</summary>
public static class SystemLibStdCxx
{
    /// <summary>
    /// The path of the libstdc++ mapped into this process. The .NET host and runtime link libstdc++, so every .NET
    /// process has it loaded before TorchSharp loads its native library, and the loader then reuses that copy (same
    /// soname) instead of searching: the one found here is the one TorchSharp gets, in a process started with the same
    /// environment (<c>LD_LIBRARY_PATH</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">No libstdc++ is mapped into this process.</exception>
    public static string LocateLoaded()
    {
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            // Fields: address perms offset dev inode path; the path is the file the loader opened (links resolved).
            var pathStart = line.IndexOf('/');
            if (pathStart >= 0 && Path.GetFileName(line[pathStart..]).StartsWith(LibStdCxxVersionPatch.LibStdCxxSoname, StringComparison.Ordinal))
                return line[pathStart..];
        }
        throw new InvalidOperationException(
            $"{LibStdCxxVersionPatch.LibStdCxxSoname} is not loaded in this .NET process, so the libstdc++ TorchSharp will use cannot be told.");
    }

    /// <summary>The versions (<c>GLIBCXX_*</c>, <c>CXXABI_*</c>) that the libstdc++ at <paramref name="path"/> defines.</summary>
    public static IReadOnlySet<string> ProvidedVersions(string path) => ElfImage.Read(path).VersionDefinitions().ToHashSet();
}
