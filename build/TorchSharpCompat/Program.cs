using MLNetNormalization.Build.TorchSharpCompat;

// Usage: TorchSharpCompat <libLibTorchSharp.so in a build output>...
// Marks weak, in each file, the libstdc++ versions it needs that this machine's libstdc++ lacks (see
// LibStdCxxVersionPatch); leaves files alone where nothing is missing or the patch is already there.
// An error is one line on stderr and exit code 1; TorchSharpCompat.targets turns it into the build's error.
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: TorchSharpCompat <path to libLibTorchSharp.so>...");
    return 2;
}

try
{
    var libStdCxx = SystemLibStdCxx.LocateLoaded();
    var provided = SystemLibStdCxx.ProvidedVersions(libStdCxx);
    foreach (var library in args)
    {
        var report = LibStdCxxVersionPatch.Apply(library, provided);
        var versions = string.Join(", ", report.MissingVersions);
        Console.WriteLine(report.Outcome switch
        {
            PatchOutcome.NotNeeded => $"TorchSharpCompat: {library}: no change needed ({libStdCxx} has every version it needs)",
            PatchOutcome.AlreadyPatched => $"TorchSharpCompat: {library}: already patched ({versions} weak)",
            _ => $"TorchSharpCompat: {library}: marked {versions} weak ({libStdCxx} lacks it)",
        });
    }
    return 0;
}
catch (Exception e) when (e is UnpatchableLibraryException or InvalidDataException or InvalidOperationException or IOException)
{
    Console.Error.WriteLine($"TorchSharpCompat: {e.Message}");
    return 1;
}
