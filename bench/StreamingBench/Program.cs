using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetNormalization;
using MLNetNormalization.Bench;
using MLNetNormalization.Backbones;
using MLNetNormalization.Data;
using MLNetNormalization.Training;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;
using static MLNetNormalization.Bench.BenchHost;

// Fit's data path on image folders of 224x224 RGB images: peak RSS and images/s by size, and the cache against memory
// on Fashion-MNIST. A measurement, not a test: exit code 0 whatever it measured, nonzero only when something failed.

const int Side = 224, Enlargement = Side / 28;
const string StartMarker = "<!-- streaming:start -->";
const string EndMarker = "<!-- streaming:end -->";

return BenchHost.Main(args, Options.Parse, options => options.Help, Options.Usage, options =>
{
    set_num_threads(options.Threads);
    if (options.ChildFolder is { } folder) return ChildFolder(folder, options.BatchSize);
    if (options.ChildFashion) return ChildFashion(options);
    return Run(options);
});

static int Run(Options options)
{
    var output = Path.GetFullPath(Path.Combine(FindRepoRoot(), options.Output));
    var date = DateTime.UtcNow;
    var fashion = FashionMnist.LoadTrain(options.DataDirectory);
    var scratch = Directory.CreateTempSubdirectory("mlnorm-streamingbench-").FullName;
    try
    {
        var rows = new List<FolderRun>();
        foreach (var format in options.Formats)
        {
            var (folders, writeSeconds) = WriteFolders(Path.Combine(scratch, format), fashion, format, options.Sizes);
            Console.WriteLine($"{format}: wrote {options.Sizes.Max()} files in {writeSeconds:F0} s");
            foreach (var (size, path) in folders)
            {
                var measured = JsonSerializer.Deserialize<FolderMeasurement>(RunChild(["--child-folder", path, "--batch-size", $"{options.BatchSize}", "--threads", $"{options.Threads}"]))!;
                rows.Add(new FolderRun(format, size, measured));
                Console.WriteLine($"{format} {size}: read {measured.Images / measured.ReadSeconds:F0} images/s, loading {measured.Images / measured.LoadSeconds:F0} images/s, " +
                                  $"training {measured.Images / measured.TrainSeconds:F0} images/s, peak RSS {Units.MiB(measured.PeakRssBytes)} MiB");
            }
            Directory.Delete(Path.Combine(scratch, format), recursive: true);
        }
        var fashionRun = JsonSerializer.Deserialize<FashionMeasurement>(RunChild(["--child-fashion", "--fashion-rounds", $"{options.FashionRounds}",
                                                                                   "--threads", $"{options.Threads}", "--data-dir", options.DataDirectory]))!;
        Console.WriteLine($"Fashion-MNIST epochs: cache {Stats.Median(fashionRun.CacheSeconds):F2} s, memory {Stats.Median(fashionRun.MemorySeconds):F2} s");
        ResultsFile.WriteSection(output, StartMarker, EndMarker, Report(options, date, rows, fashionRun));
        Console.WriteLine($"wrote {output}");
        return 0;
    }
    finally
    {
        Directory.Delete(scratch, recursive: true);
    }
}

// The largest size written as files, one subfolder per class; each smaller size a folder of symbolic links to its first images.
static (List<(int Size, string Path)> Folders, double Seconds) WriteFolders(string root, ImageDataset fashion, string format, IReadOnlyList<int> sizes)
{
    var clock = Stopwatch.StartNew();
    var largest = sizes.Max();
    var full = Path.Combine(root, $"n{largest}");
    var files = new List<(string Class, string Name)>();
    var rgb = new byte[Side * Side * 4];
    for (var i = 0; i < largest; i++)
    {
        var index = i % fashion.Count;
        var label = fashion.GetLabel(index);
        var classFolder = $"class{label}";
        Directory.CreateDirectory(Path.Combine(full, classFolder));
        Enlarge(fashion.Pixels.AsSpan(index * 784, 784), label, rgb);
        using var image = SKImage.FromPixelCopy(new SKImageInfo(Side, Side, SKColorType.Rgba8888, SKAlphaType.Opaque), rgb);
        using var encoded = image.Encode(format == "png" ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Jpeg, quality: 90);
        var name = $"{i:D6}.{(format == "png" ? "png" : "jpg")}";
        using (var file = File.Create(Path.Combine(full, classFolder, name))) encoded.SaveTo(file);
        files.Add((classFolder, name));
    }
    var folders = new List<(int, string)>();
    foreach (var size in sizes.Distinct().Order())
    {
        if (size == largest)
        {
            folders.Add((size, full));
            continue;
        }
        var folder = Path.Combine(root, $"n{size}");
        foreach (var (classFolder, name) in files.Take(size))
        {
            Directory.CreateDirectory(Path.Combine(folder, classFolder));
            File.CreateSymbolicLink(Path.Combine(folder, classFolder, name), Path.Combine(full, classFolder, name));
        }
        folders.Add((size, folder));
    }
    return (folders, clock.Elapsed.TotalSeconds);
}

// A 28x28 gray image enlarged 8x (nearest), tinted by its class so that the three channels differ.
static void Enlarge(ReadOnlySpan<byte> gray, int label, byte[] rgba)
{
    for (var y = 0; y < Side; y++)
        for (var x = 0; x < Side; x++)
        {
            var p = gray[y / Enlargement * 28 + x / Enlargement];
            var at = 4 * (y * Side + x);
            rgba[at] = p;
            rgba[at + 1] = (byte)(p * (label + 1) / 10);
            rgba[at + 2] = (byte)(255 - p);
            rgba[at + 3] = 255;
        }
}

static string RunChild(string[] arguments)
{
    var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
    start.ArgumentList.Add(typeof(Options).Assembly.Location);
    foreach (var argument in arguments) start.ArgumentList.Add(argument);
    using var child = Process.Start(start)!;
    var lines = child.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    child.WaitForExit();
    if (child.ExitCode != 0) throw new InvalidOperationException($"the measuring process ({string.Join(' ', arguments)}) exited with {child.ExitCode}");
    return lines[^1];
}

// One folder, in this process: read into the image cache, an epoch's loading alone, an epoch of training; then the peak RSS.
static int ChildFolder(string folder, int batchSize)
{
    var ml = new MLContext(seed: 1);
    var files = ImageFolder.Load(ml, folder);
    var data = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoadRawImageBytes("Features", folder, "ImagePath")).Fit(files).Transform(files);
    var (label, features) = (data.Schema["Label"], data.Schema["Features"]);
    var classes = LabelKeyValues.From(label, checked((int)((KeyDataViewType)label.Type).Count));
    var shape = new ImageShape(3, Side, Side);

    var clock = Stopwatch.StartNew();
    using var cache = TrainingRows.Read(data, label, features, FeatureKind.EncodedImages, shape, classes.Names, "training data");
    var readSeconds = clock.Elapsed.TotalSeconds;

    clock.Restart();
    foreach (var _ in new BatchAssembler(cache, batchSize, [0.5], [0.25], seed: 1).Training(0)) { }
    var loadSeconds = clock.Elapsed.TotalSeconds;

    manual_seed(1);
    using var model = Backbone.Create(SmallBackbone, shape, classes.Count, new NormalizerPlan("bn"));
    clock.Restart();
    new ClassifierTrainer(new TrainingOptions { Epochs = 1, BatchSize = batchSize, CropPadding = 0, HorizontalFlip = false, Seed = 1 }).Train(model, cache);
    var trainSeconds = clock.Elapsed.TotalSeconds;

    Console.WriteLine(JsonSerializer.Serialize(new FolderMeasurement(cache.Count, cache.Bytes, readSeconds, loadSeconds, trainSeconds, PeakResidentBytes())));
    return 0;
}

// The 60,000 Fashion-MNIST training images as the same floats, from the image cache and from memory, LeNet with BN an
// epoch each way a round, taking turns.
static int ChildFashion(Options options)
{
    var fashion = FashionMnist.LoadTrain(options.DataDirectory);
    var shape = fashion.Shape;
    var pixels = new float[fashion.Count * shape.ElementCount];
    using var cache = ImageCache.Create(shape, FeatureKind.Pixels, fashion.ClassNames);
    for (var i = 0; i < fashion.Count; i++)
    {
        var image = pixels.AsSpan(i * shape.ElementCount, shape.ElementCount);
        fashion.ReadImage(i, image);
        cache.Append(System.Runtime.InteropServices.MemoryMarshal.AsBytes(image), fashion.GetLabel(i));
    }
    cache.Complete();
    var memory = new ArrayImageSource(shape, fashion.ClassNames, pixels, [.. Enumerable.Range(0, fashion.Count).Select(fashion.GetLabel)]);
    var (cacheSeconds, memorySeconds) = (new List<double>(), new List<double>());
    for (var round = 0; round < options.FashionRounds; round++)
    {
        foreach (var fromCache in round % 2 == 0 ? new[] { true, false } : [false, true])
        {
            manual_seed(round);
            using var model = Backbone.Create(Architecture.LeNet, shape, fashion.ClassNames.Count, new NormalizerPlan("bn"));
            var clock = Stopwatch.StartNew();
            new ClassifierTrainer(new TrainingOptions { Epochs = 1, CropPadding = 0, HorizontalFlip = false, Seed = (ulong)round })
                .Train(model, fromCache ? cache : memory);
            (fromCache ? cacheSeconds : memorySeconds).Add(clock.Elapsed.TotalSeconds);
        }
    }
    Console.WriteLine(JsonSerializer.Serialize(new FashionMeasurement(fashion.Count, cacheSeconds, memorySeconds)));
    return 0;
}

// VmHWM of /proc/self/status: the most this process ever held resident.
static long PeakResidentBytes()
{
    var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
    return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
}

static string Report(Options options, DateTime date, List<FolderRun> rows, FashionMeasurement fashion)
{
    var f = CultureInfo.InvariantCulture;
    var text = new StringBuilder();
    text.AppendLine("## Training on image folders larger than memory (bench/StreamingBench)");
    text.AppendLine();
    text.AppendLine(f, $"- Command: `{RunCommand("bench/StreamingBench", options.Arguments)}`, {date:yyyy-MM-dd HH:mm} UTC");
    text.AppendLine(f, $"- Machine: {MachineDescription()}; Microsoft.ML {PackageVersion(typeof(MLContext).Assembly)}, SkiaSharp {PackageVersion(typeof(SKBitmap).Assembly)}; TorchSharp {typeof(torch).Assembly.GetName().Version?.ToString(3)} (libtorch {__version__}), torch.get_num_threads() = {options.Threads}");
    text.AppendLine(f, $"- Images: Fashion-MNIST training images enlarged 8x to 224x224 and tinted by class (RGB), JPEG (quality 90) and PNG; each size its own process (ImageFolder.Load, MapValueToKey, LoadRawImageBytes), batch {options.BatchSize}, the small backbone of `--help` with BN, one epoch, no augmentation.");
    text.AppendLine("- read: into the trainer's image cache (decoding, resizing, writing the temporary file); loading: an epoch's batches from the cache, alone; training: an epoch of the small backbone with its loading; peak RSS: the process's VmHWM at the end.");
    text.AppendLine();
    text.AppendLine("| format | images | cache | read, images/s | loading, images/s | training, images/s | loading / training | peak RSS |");
    text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
    foreach (var row in rows)
    {
        var m = row.Measured;
        text.AppendLine(f, $"| {row.Format} | {row.Size:N0} | {Units.MiB(m.CacheBytes)} MiB | {m.Images / m.ReadSeconds:F0} | {m.Images / m.LoadSeconds:F0} | {m.Images / m.TrainSeconds:F0} | {m.TrainSeconds / m.LoadSeconds:F1}x | {Units.MiB(m.PeakRssBytes)} MiB |");
    }
    text.AppendLine();
    foreach (var format in rows.Select(r => r.Format).Distinct())
    {
        var mine = rows.Where(r => r.Format == format).OrderBy(r => r.Size).ToList();
        var growth = (double)mine[^1].Measured.PeakRssBytes / mine[0].Measured.PeakRssBytes;
        text.AppendLine(f, $"{format}: peak RSS at {mine[^1].Size:N0} images / at {mine[0].Size:N0}: **{growth:F2}x** (target <= 1.5x): **{(growth <= 1.5 ? "PASS" : "FAIL")}**; loading / training at {mine[^1].Size:N0}: **{mine[^1].Measured.TrainSeconds / mine[^1].Measured.LoadSeconds:F1}x** (target >= 3x): **{(mine[^1].Measured.TrainSeconds / mine[^1].Measured.LoadSeconds >= 3 ? "PASS" : "FAIL")}**.");
    }
    var (cache, memory) = (Stats.Median(fashion.CacheSeconds), Stats.Median(fashion.MemorySeconds));
    text.AppendLine();
    text.AppendLine(f, $"Fashion-MNIST, {fashion.Images:N0} images, LeNet with BN, batch 128, an epoch from the image cache and from memory taking turns ({options.FashionRounds} rounds): cache {cache:F2} s ({string.Join(", ", fashion.CacheSeconds.Select(s => s.ToString("F2", f)))}), memory {memory:F2} s ({string.Join(", ", fashion.MemorySeconds.Select(s => s.ToString("F2", f)))}); throughput from the cache / from memory: **{memory / cache:F3}x** (target >= 0.95x): **{(memory / cache >= 0.95 ? "PASS" : "FAIL")}**.");
    return text.ToString();
}

// Two ConvNorm units and a linear classifier: small enough that the data path, not the network, is what is measured.
static nn.Module<Tensor, Tensor> SmallBackbone(ImageShape input, int classes, Func<long, nn.Module<Tensor, Tensor>> norm) => nn.Sequential(
    new ConvNorm(nn.Conv2d(input.Channels, 16, 5, stride: 4, padding: 2, bias: false), norm(16)), nn.ReLU(),
    new ConvNorm(nn.Conv2d(16, 32, 3, stride: 2, padding: 1, bias: false), norm(32)), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, classes));

/// <summary>What one folder's process measured.</summary>
internal sealed record FolderMeasurement(int Images, long CacheBytes, double ReadSeconds, double LoadSeconds, double TrainSeconds, long PeakRssBytes);

internal sealed record FolderRun(string Format, int Size, FolderMeasurement Measured);

/// <summary>Epoch times of the Fashion-MNIST comparison, one per round each way.</summary>
internal sealed record FashionMeasurement(int Images, List<double> CacheSeconds, List<double> MemorySeconds);

/// <summary>Images as floats in memory, what the trainer read into before its image cache: the comparison's baseline.</summary>
internal sealed class ArrayImageSource(ImageShape shape, IReadOnlyList<string> classNames, float[] pixels, int[] labels) : ILabeledImageSource
{
    public int Count => labels.Length;

    public ImageShape Shape => shape;

    public IReadOnlyList<string> ClassNames => classNames;

    public int GetLabel(int index) => labels[index];

    public void ReadImage(int index, Span<float> destination) => pixels.AsSpan(index * shape.ElementCount, shape.ElementCount).CopyTo(destination);
}
