using System.Xml.Linq;

namespace MLNetNormalization.Tool.Tests;

/// <summary>
/// Restores that take MLNetNormalization's packages as this build packed them. NuGet extracts a package id and version
/// into the global packages folder once and restores every later project from that copy, so a package packed again
/// under the same version (every build of this repository) would not be what a project gets. A project below a folder
/// set up here restores into a packages folder of its own, and finds every other package in this build's global packages
/// folder, read in place through links that leave MLNetNormalization's packages out.
/// </summary>
internal static class PackageRestore
{
    /// <summary>
    /// Writes <c>nuget.config</c> into <paramref name="folder"/>, for the projects in it and below: packages restore into
    /// <c>nuget-packages/</c> there, the machine's come from <c>machine-packages/</c> (the links), and
    /// <paramref name="packageSource"/>, where given, is added to the sources the machine and user configure.
    /// </summary>
    public static void Isolate(string folder, string? packageSource)
    {
        var machinePackages = Path.Combine(folder, "machine-packages");
        Directory.CreateDirectory(machinePackages);
        foreach (var package in Directory.GetDirectories(ToolFixture.NuGetPackageRoot))
        {
            var id = Path.GetFileName(package);
            if (!id.StartsWith("mlnetnormalization.", StringComparison.OrdinalIgnoreCase))
                Directory.CreateSymbolicLink(Path.Combine(machinePackages, id), package);
        }

        var configuration = new XElement("configuration",
            new XElement("config", Add("globalPackagesFolder", Path.Combine(folder, "nuget-packages"))),
            new XElement("fallbackPackageFolders", Add("machine", machinePackages)));
        if (packageSource is not null)
            configuration.Add(new XElement("packageSources", Add("mlnetnormalization", packageSource)));
        new XDocument(configuration).Save(Path.Combine(folder, "nuget.config"));
    }

    private static XElement Add(string key, string value) => new("add", new XAttribute("key", key), new XAttribute("value", value));
}
