using System.IO.Compression;
using System.Xml.Linq;
using MLNetNormalization.Data;

namespace MLNetNormalization.Tool.Tests;

/// <summary>The package consumer test's collection: alone (two cores), without the mlnorm run that the tool tests share.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PackageConsumerCollection
{
    public const string Name = "package consumer";
}

/// <summary>
/// The library packages as an application outside this repository gets them. `dotnet pack` packs the two projects from
/// this build's output; a new console app in the temporary folder (so that no Directory.Build.props of the repository
/// applies), with a nuget.config adding the package folder to the usual sources, takes MLNetNormalization.Trainers,
/// TorchSharp-cpu and Microsoft.ML.TorchSharp with `dotnet add package`, imports nothing by hand, builds with warnings as
/// errors, trains the README's ML.NET pipeline for one epoch on 200 Fashion-MNIST PNGs beside Microsoft.ML.TorchSharp's
/// text classifier, saves model.zip, and scores the same bits when a second process loads it. On a machine whose
/// libstdc++ lacks GLIBCXX_3.4.32 (Debian 12) the app runs only because the package's build step patched its copy of
/// libLibTorchSharp.so.
/// </summary>
[Collection(PackageConsumerCollection.Name)]
public sealed class PackageConsumerTests : IDisposable
{
    /// <summary>The one namespace of everything the README's pipeline uses (ImageClassifierWithNorm's catalog extension,
    /// its options, Architecture, ImageFolder, FashionMnistData): the one place to change if it moved.</summary>
    private const string MLNetNormalizationUsings = """
        using MLNetNormalization;
        """;

    private const string NormalizationId = "MLNetNormalization.Normalization", TrainersId = "MLNetNormalization.Trainers";

    private static readonly TimeSpan PackTime = TimeSpan.FromMinutes(5), RestoreTime = TimeSpan.FromMinutes(5),
                                     BuildTime = TimeSpan.FromMinutes(10), RunTime = TimeSpan.FromMinutes(5);

    private readonly string root = Path.Combine(Path.GetTempPath(), $"mlnorm-package-consumer-{Guid.NewGuid():N}");

    public PackageConsumerTests() => Directory.CreateDirectory(root);

    [Fact]
    public void AnAppOutsideTheRepositoryTrainsSavesAndReloadsWithThePackages()
    {
        Assert.False(Path.GetFullPath(root).StartsWith(Path.GetFullPath(ToolFixture.RepoRoot), StringComparison.Ordinal),
                     $"{root} is inside the repository, whose Directory.Build.props would apply to the app: set TMPDIR elsewhere.");
        var version = ToolFixture.PackageVersion;
        var packages = Path.Combine(root, "packages");
        foreach (var project in new[] { "src/Microsoft.ML.Normalization/MLNetNormalization.Normalization.csproj", "src/Trainers/MLNetNormalization.Trainers.csproj" })
            Run(["pack", Path.Combine(ToolFixture.RepoRoot, project), "-c", ToolFixture.Configuration, "--no-build", "-o", packages, "-nologo"],
                ToolFixture.RepoRoot, PackTime);

        CheckNormalizationPackage(Path.Combine(packages, $"{NormalizationId}.{version}.nupkg"));
        CheckTrainersPackage(Path.Combine(packages, $"{TrainersId}.{version}.nupkg"), version);
        foreach (var id in new[] { NormalizationId, TrainersId })
            Assert.True(File.Exists(Path.Combine(packages, $"{id}.{version}.snupkg")), $"no symbols package for {id}");

        var images = Path.Combine(root, "images");
        Assert.Equal(200, ImageFolder.Save(images, FashionMnist.LoadTrain(), perClass: 20));

        PackageRestore.Isolate(root, packages);
        Run(["new", "console", "-o", "app", "--no-update-check"], root, RestoreTime);
        var app = Path.Combine(root, "app");
        // Microsoft.ML.TorchSharp alone asks for TorchSharp >= 0.102.7 and warns NU1603 where the feed has only 0.107.0;
        // beside the MLNetNormalization packages, which ask for 0.107.0, restore has nothing to warn about.
        foreach (var (id, packageVersion) in new[] { (TrainersId, version), ("TorchSharp-cpu", "0.107.0"), ("Microsoft.ML.TorchSharp", "0.24.0") })
        {
            var add = Run(["add", "package", id, "--version", packageVersion], app, RestoreTime);
            Assert.DoesNotContain("warn :", add);
        }
        File.WriteAllText(Path.Combine(app, "Program.cs"), Program);
        Run(["build", "-c", "Release", "-warnaserror", "-nologo", "-v", "q"], app, BuildTime);

        var output = Path.Combine(app, "bin", "Release", "net10.0");
        var libTorchSharp = File.ReadAllBytes(Path.Combine(output, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"));
        var shipped = File.ReadAllBytes(Path.Combine(ToolFixture.NuGetPackageRoot, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so"));
        if (LoadedLibStdCxxDefines("GLIBCXX_3.4.32"))
            Assert.Equal(shipped, libTorchSharp);
        else
            Assert.NotEqual(shipped, libTorchSharp);

        var appDll = Path.Combine(output, "app.dll");
        var model = Path.Combine(root, "model.zip");
        var trained = Path.Combine(root, "scores-trained.txt");
        var loaded = Path.Combine(root, "scores-loaded.txt");
        Assert.Contains("created TextClassificationTrainer", Run([appDll, "train", images, model, trained], app, RunTime));
        Run([appDll, "score", images, model, loaded], app, RunTime);
        var trainedScores = File.ReadAllLines(trained);
        Assert.Equal(200, trainedScores.Length);
        Assert.All(trainedScores, line => Assert.Equal(10, line.Split('\t')[2].Split(' ').Length));
        Assert.Equal(trainedScores, File.ReadAllLines(loaded));
    }

    /// <summary>The layers on TorchSharp alone, with the libstdc++ fix that NuGet imports into every project using them.</summary>
    private static void CheckNormalizationPackage(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        Assert.Equal([("TorchSharp", "0.107.0")], Dependencies(zip));
        var names = zip.Entries.Select(e => e.FullName).ToList();
        foreach (var name in new[]
                 {
                     "README.md", $"lib/net10.0/{NormalizationId}.dll", $"lib/net10.0/{NormalizationId}.xml",
                     $"buildTransitive/{NormalizationId}.targets", "buildTransitive/PatchLibTorchSharp.targets",
                     "tools/TorchSharpCompat/TorchSharpCompat.dll", "tools/TorchSharpCompat/TorchSharpCompat.runtimeconfig.json",
                 })
            Assert.Contains(name, names);
    }

    /// <summary>The trainer on the layers, ML.NET 6.0 and the ONNX protobuf types it exports with; the build steps it is compiled with are no dependencies.</summary>
    private static void CheckTrainersPackage(string package, string version)
    {
        using var zip = ZipFile.OpenRead(package);
        Assert.Equal(
            [
                (NormalizationId, version), ("Microsoft.ML", "[6.0.0, 6.1.0)"), ("Microsoft.ML.ImageAnalytics", "[6.0.0, 6.1.0)"), ("OnnxSharp", "0.3.2"),
                ("SkiaSharp", "3.119.2"), ("SkiaSharp.NativeAssets.Linux.NoDependencies", "3.119.2"),
            ],
            Dependencies(zip));
        var names = zip.Entries.Select(e => e.FullName).ToList();
        foreach (var name in new[] { "README.md", $"lib/net10.0/{TrainersId}.dll", $"lib/net10.0/{TrainersId}.xml" })
            Assert.Contains(name, names);
    }

    /// <summary>The nuspec's dependencies (id, version range), by id.</summary>
    private static List<(string Id, string Version)> Dependencies(ZipArchive package)
    {
        var nuspec = package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var stream = nuspec.Open();
        return XDocument.Load(stream).Descendants().Where(e => e.Name.LocalName == "dependency")
            .Select(e => ((string)e.Attribute("id")!, (string)e.Attribute("version")!))
            .OrderBy(d => d.Item1, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Whether the libstdc++ that .NET processes load here (this one's) defines <paramref name="version"/>. Read apart from
    /// TorchSharpCompat's own reading, as the test's independent account: a libstdc++ names each version it defines in
    /// its string table, and no later one.
    /// </summary>
    private static bool LoadedLibStdCxxDefines(string version)
    {
        var path = File.ReadLines("/proc/self/maps").Select(line => line.IndexOf('/') is var start and >= 0 ? line[start..] : "")
            .First(p => Path.GetFileName(p).StartsWith("libstdc++.so.6", StringComparison.Ordinal));
        return File.ReadAllBytes(path).AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(version + "\0")) >= 0;
    }

    /// <summary>Runs dotnet with <paramref name="args"/>; fails with its output unless it exits 0; returns its stdout.</summary>
    private static string Run(string[] args, string workingDirectory, TimeSpan timeout)
    {
        var (code, stdout, stderr) = ToolFixture.RunProcess(ToolFixture.Dotnet, args, workingDirectory, timeout);
        Assert.True(code == 0, $"dotnet {string.Join(' ', args)} exited with {code}:\n{stdout}\n{stderr}");
        return stdout;
    }

    /// <summary>
    /// The app: <c>train IMAGES MODEL SCORES</c> fits the README's pipeline, saves it to MODEL and writes its scores of
    /// the images; <c>score IMAGES MODEL SCORES</c> loads MODEL and writes them. A line per image: path, predicted class,
    /// and the bits of each class probability.
    /// </summary>
    private const string Program = $$"""
        using System.Globalization;
        using Microsoft.ML;
        using Microsoft.ML.TorchSharp;
        using Microsoft.ML.Transforms.Image;
        {{MLNetNormalizationUsings}}

        var (mode, images, modelPath, scoresPath) = (args[0], args[1], args[2], args[3]);
        var ml = new MLContext(seed: 1);
        var rows = ImageFolder.Load(ml, images);
        ITransformer model;
        if (mode == "train")
        {
            // Microsoft.ML.TorchSharp's trainer in the same process: created only, as its Fit downloads pretrained weights.
            var text = ml.MulticlassClassification.Trainers.TextClassification(labelColumnName: "Label", sentence1ColumnName: "Sentence");
            Console.WriteLine($"created {text.GetType().Name}");
            var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
                .Append(ml.Transforms.LoadImages("Image", images, "ImagePath"))
                .Append(ml.Transforms.ResizeImages("Image", 28, 28))
                .Append(ml.Transforms.ExtractPixels("Features", "Image", ImagePixelExtractingEstimator.ColorBits.Red,
                    offsetImage: FashionMnistData.StandardizingOffset, scaleImage: FashionMnistData.StandardizingScale))
                .Append(ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(new ImageClassifierWithNormOptions
                    { Architecture = Architecture.LeNet, NormalizerSpecification = "mn:k=2", Epochs = 1 }))
                .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
            model = pipeline.Fit(rows);
            ml.Model.Save(model, rows.Schema, modelPath);
        }
        else
        {
            model = ml.Model.Load(modelPath, out _);
        }

        using var writer = new StreamWriter(scoresPath);
        foreach (var row in ml.Data.CreateEnumerable<ScoredImage>(model.Transform(rows), reuseRowObject: false))
        {
            var bits = row.Score.Select(p => BitConverter.SingleToInt32Bits(p).ToString("x8", CultureInfo.InvariantCulture));
            writer.WriteLine($"{row.ImagePath}\t{row.PredictedLabel}\t{string.Join(' ', bits)}");
        }

        sealed class ScoredImage
        {
            public string ImagePath { get; set; } = "";
            public string PredictedLabel { get; set; } = "";
            public float[] Score { get; set; } = [];
        }

        """;

    public void Dispose()
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
            // A child process may still hold a file; the temporary folder is left for the system to clean.
        }
    }
}
