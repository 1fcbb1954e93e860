namespace MLNetNormalization.Tools.Mlnorm;

/// <summary>
/// A folder for a project that mlnorm writes beside a model (consume/, train/): the two MLNetNormalization packages mlnorm
/// carries copied into its packages/, a nuget.config that adds packages/ to the usual package sources, and empty
/// Directory.Build.props/targets so that no build settings of the folders above change how it builds. The project then
/// references MLNetNormalization.Trainers (which brings ML.NET, ImageAnalytics, SkiaSharp and
/// MLNetNormalization.Normalization, whose build step makes TorchSharp load on Debian 12 / Ubuntu 22.04) and imports nothing.
/// </summary>
internal static class PackagedProjectFolder
{
    private const string PackagesFolderName = "packages";

    private const string TrainersPackageId = "MLNetNormalization.Trainers";

    /// <summary>The packages that mlnorm carries in packages/ beside mlnorm.dll; Trainers depends on Normalization.</summary>
    private static readonly string[] PackageIds = ["MLNetNormalization.Normalization", TrainersPackageId];

    /// <summary>Creates <paramref name="folder"/> with the packages and build settings; returns the Trainers package's version.</summary>
    public static string Prepare(string folder)
    {
        var packages = Path.Combine(folder, PackagesFolderName);
        Directory.CreateDirectory(packages);
        foreach (var package in PackageIds.Select(CarriedPackage))
            File.Copy(package, Path.Combine(packages, Path.GetFileName(package)));
        File.WriteAllText(Path.Combine(folder, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(folder, "Directory.Build.targets"), "<Project />\n");
        File.WriteAllText(Path.Combine(folder, "nuget.config"), NuGetConfig);
        return Path.GetFileNameWithoutExtension(CarriedPackage(TrainersPackageId))[(TrainersPackageId.Length + 1)..];
    }

    /// <summary>The one package of <paramref name="id"/> (<c>id.version.nupkg</c>) in packages/ beside mlnorm.dll.</summary>
    private static string CarriedPackage(string id)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, PackagesFolderName);
        string[] found = Directory.Exists(folder) ? Directory.GetFiles(folder, $"{id}.*.nupkg") : [];
        return found.Length == 1
            ? found[0]
            : throw new InvalidOperationException(
                $"{folder} holds {found.Length} {id} packages instead of one; reinstall mlnorm (its package carries the packages the projects it writes reference).");
    }

    private const string NuGetConfig = """
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <packageSources>
            <!-- MLNetNormalization's packages, copied here by mlnorm; the other packages come from the sources configured
                 for this machine and user. -->
            <add key="mlnorm-packages" value="packages" />
          </packageSources>
        </configuration>

        """;
}

/// <summary>Text for the C# sources mlnorm writes.</summary>
internal static class CSharpSource
{
    /// <summary><paramref name="text"/> as a C# string literal.</summary>
    public static string Literal(string text)
    {
        var builder = new System.Text.StringBuilder("\"");
        foreach (var c in text)
            builder.Append(c switch { '"' => "\\\"", '\\' => "\\\\", '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", _ => c.ToString() });
        return builder.Append('"').ToString();
    }
}
