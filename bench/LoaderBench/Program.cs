using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetNormalization;
using MLNetNormalization.Bench;
using MLNetNormalization.Backbones;
using MLNetNormalization.Data;
using MLNetNormalization.Training;
using TorchSharp;
using static TorchSharp.torch;
using static Microsoft.ML.Transforms.Image.ImagePixelExtractingEstimator;
using static MLNetNormalization.Bench.BenchHost;

// The image loader against the trainer: how many images per second ImageAnalytics decodes from an image folder, against
// how many LeNet training consumes. A measurement, not a test: exit code 0 whatever the ratio, nonzero only when
// something failed.

const double Target = 3;
const int Side = 28;
const string StartMarker = "<!-- loader:start -->";
const string EndMarker = "<!-- loader:end -->";

return BenchHost.Main(args, Options.Parse, options => options.Help, Options.Usage, Run);

static int Run(Options options)
{
    var output = Path.GetFullPath(Path.Combine(FindRepoRoot(), options.Output));
    set_num_threads(options.Threads);
    var date = DateTime.UtcNow;
    var fashion = FashionMnist.LoadTrain(options.DataDirectory);
    var scratch = Directory.CreateTempSubdirectory("mlnorm-loaderbench-").FullName;
    try
    {
        var folder = Path.Combine(scratch, "fashion-mnist");
        var writing = Stopwatch.StartNew();
        var written = ImageFolder.Save(folder, fashion, options.PerClass);
        var writeSeconds = writing.Elapsed.TotalSeconds;
        Console.WriteLine($"wrote {written} PNG files in {writeSeconds:F1} s");

        var cpuStart = CpuSnapshot.Take();
        var decodeRates = new List<double>();
        ImageCache? decoded = null;
        for (var round = 0; round < options.Rounds; round++)
        {
            decoded?.Dispose();
            (decoded, var seconds) = Decode(folder);
            decodeRates.Add(decoded.Count / seconds);
            Console.WriteLine($"round {round + 1}: decoded {decoded.Count} images in {seconds:F2} s ({decodeRates[^1]:F0} images/s)");
        }

        var rawRates = new List<double>();
        for (var round = 0; round < options.Rounds; round++)
        {
            var (images, megabytes, seconds) = ReadRawBytes(folder);
            rawRates.Add(images / seconds);
            Console.WriteLine($"round {round + 1}: read {images} files ({megabytes:F1} MB) in {seconds:F2} s ({rawRates[^1]:F0} images/s)");
        }

        var trainRates = new List<double>();
        for (var round = 0; round < options.Rounds; round++)
        {
            var (images, seconds) = Train(decoded!, options.BatchSize, options.TrainSteps, round);
            if (round == options.Rounds - 1) decoded!.Dispose();
            trainRates.Add(images / seconds);
            Console.WriteLine($"round {round + 1}: trained on {images} images in {seconds:F2} s ({trainRates[^1]:F0} images/s)");
        }
        var (others, capacity) = CpuSnapshot.Others(cpuStart, CpuSnapshot.Take());

        var (decode, raw, train) = (Stats.Median(decodeRates), Stats.Median(rawRates), Stats.Median(trainRates));
        var ratio = decode / train;
        Console.WriteLine($"decoding {decode:F0} images/s, training {train:F0} images/s: {ratio:F1}x (target >= {Target}x) {(ratio >= Target ? "PASS" : "FAIL")}");
        var measured = new Measured(written, writeSeconds, decodeRates, rawRates, trainRates, others, capacity);
        ResultsFile.WriteSection(output, StartMarker, EndMarker, Report(options, date, measured));
        Console.WriteLine($"wrote {output}");
        return 0;
    }
    finally
    {
        Directory.Delete(scratch, recursive: true);
    }
}

// The pipeline a user writes for the image trainer: files -> keys -> decoded images -> 28x28 -> one plane of floats in
// [0, 1], read as Fit reads it (one cursor into the trainer's image cache). The clock includes listing the folder and
// fitting the key mapping (one pass over Label).
static (ImageCache Images, double Seconds) Decode(string folder)
{
    var ml = new MLContext(seed: 0);
    var clock = Stopwatch.StartNew();
    var files = ImageFolder.Load(ml, folder);
    var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
        .Append(ml.Transforms.LoadImages("Image", folder, "ImagePath"))
        .Append(ml.Transforms.ResizeImages("Image", Side, Side))
        .Append(ml.Transforms.ExtractPixels("Features", "Image", ColorBits.Red, scaleImage: 1 / 255f));
    var data = pipeline.Fit(files).Transform(files);
    var (features, label) = (data.Schema["Features"], data.Schema["Label"]);
    var classes = LabelKeyValues.From(label, checked((int)((KeyDataViewType)label.Type).Count));
    var images = TrainingRows.Read(data, label, features, FeatureKind.Pixels, new ImageShape(1, Side, Side), classes.Names, "training data");
    return (images, clock.Elapsed.TotalSeconds);
}

// The files' bytes without decoding, through one cursor: the floor under what decoding can cost.
static (int Images, double Megabytes, double Seconds) ReadRawBytes(string folder)
{
    var ml = new MLContext(seed: 0);
    var clock = Stopwatch.StartNew();
    var files = ImageFolder.Load(ml, folder);
    var data = ml.Transforms.LoadRawImageBytes("Bytes", folder, "ImagePath").Fit(files).Transform(files);
    var column = data.Schema["Bytes"];
    var (images, bytes) = (0, 0L);
    using (var cursor = data.GetRowCursor([column]))
    {
        var getBytes = cursor.GetGetter<VBuffer<byte>>(column);
        VBuffer<byte> file = default;
        while (cursor.MoveNext())
        {
            getBytes(ref file);
            images++;
            bytes += file.Length;
        }
    }
    return (images, bytes / 1e6, clock.Elapsed.TotalSeconds);
}

// LeNet with BN, as the engine trains it (channels-last, TrainingOptions.ChannelsLast's default): one untimed step, then timed SGD steps on the batch assembler's batches, assembled
// beforehand so that only training is timed.
static (int Images, double Seconds) Train(ILabeledImageSource images, int batchSize, int steps, int round)
{
    manual_seed(round);
    using var model = Backbone.Create(Architecture.LeNet, images.Shape, images.ClassNames.Count, new NormalizerPlan("bn"));
    MemoryFormat.SetConvolutionLayout(model, channelsLast: true);
    using var sgd = optim.SGD(model.parameters(), learningRate: 0.01, momentum: 0.9);
    var assembler = new BatchAssembler(images, batchSize, [0.0], [1.0], seed: (ulong)round);
    var batches = assembler.Training(0).Take(steps + 1).ToList();
    var shape = images.Shape;
    var clock = new Stopwatch();
    var trained = 0;
    for (var i = 0; i < batches.Count; i++)
    {
        if (i == 1) clock.Start();
        using var scope = NewDisposeScope();
        var batch = batches[i];
        var x = MemoryFormat.ToChannelsLast(tensor(batch.Images, [batch.Count, shape.Channels, shape.Height, shape.Width]));
        var y = tensor(batch.Labels, [batch.Count]);
        sgd.zero_grad();
        nn.functional.cross_entropy(model.forward(x), y).backward();
        sgd.step();
        if (i >= 1) trained += batch.Count;
    }
    return (trained, clock.Elapsed.TotalSeconds);
}

static string Report(Options options, DateTime date, Measured measured)
{
    var (decode, raw, train) = (Stats.Median(measured.DecodeRates), Stats.Median(measured.RawRates), Stats.Median(measured.TrainRates));
    var ratio = decode / train;
    var text = new StringBuilder();
    var f = CultureInfo.InvariantCulture;
    text.AppendLine("## Image loader vs LeNet training (bench/LoaderBench)");
    text.AppendLine();
    text.AppendLine(f, $"- Command: `{RunCommand("bench/LoaderBench", options.Arguments)}`, {date:yyyy-MM-dd HH:mm} UTC");
    text.AppendLine(f, $"- Machine: {MachineDescription()}; Microsoft.ML and Microsoft.ML.ImageAnalytics {PackageVersion(typeof(MLContext).Assembly)}, SkiaSharp {PackageVersion(typeof(SkiaSharp.SKBitmap).Assembly)}; TorchSharp {typeof(torch).Assembly.GetName().Version?.ToString(3)} (libtorch {__version__}), torch.get_num_threads() = {get_num_threads()} for training");
    text.AppendLine(f, $"- {measured.Written} Fashion-MNIST training images ({options.PerClass} per class) written as 28x28 gray PNG files by `ImageFolder.Save` in {measured.WriteSeconds:F1} s; medians of {options.Rounds} rounds; batch {options.BatchSize}.");
    text.AppendLine(f, $"- Other processes used {measured.OtherCpuSeconds:F1} of the machine's {measured.CapacityCpuSeconds:F1} core-seconds during the measurements ({100 * measured.OtherCpuSeconds / measured.CapacityCpuSeconds:F0} %, /proc/stat).");
    text.AppendLine();
    text.AppendLine("| stage, one cursor | images/s | rounds | / training |");
    text.AppendLine("|---|---:|---|---:|");
    text.AppendLine(f, $"| decode: `ImageFolder.Load`, `MapValueToKey`, `LoadImages`, `ResizeImages` 28x28, `ExtractPixels` (red plane) | {decode:F0} | {Rounds(measured.DecodeRates)} | {ratio:F1}x |");
    text.AppendLine(f, $"| file bytes: `ImageFolder.Load`, `LoadRawImageBytes` (no decoding) | {raw:F0} | {Rounds(measured.RawRates)} | {raw / train:F1}x |");
    text.AppendLine(f, $"| training: LeNet + BN SGD steps (channels-last), {options.TrainSteps} per round after one untimed | {train:F0} | {Rounds(measured.TrainRates)} | 1.0x |");
    text.AppendLine();
    text.AppendLine(f, $"Decoding / training: **{ratio:F1}x** (target >= {Target}x): **{(ratio >= Target ? "PASS" : "FAIL")}**.");
    return text.ToString();

    static string Rounds(IEnumerable<double> rates) => string.Join(", ", rates.Select(r => r.ToString("F0", CultureInfo.InvariantCulture)));
}

/// <summary>What one run measured: rates in images/s, one per round; CPU time of other processes during the rounds.</summary>
internal sealed record Measured(int Written, double WriteSeconds, List<double> DecodeRates, List<double> RawRates, List<double> TrainRates,
                                double OtherCpuSeconds, double CapacityCpuSeconds);
