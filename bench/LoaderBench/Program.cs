using System.Diagnostics;
using System.Globalization;
using System.Text;
using MLNetNormalization;
using MLNetNormalization.Bench;
using MLNetNormalization.Data;
using MLNetNormalization.Trainers;
using MLNetNormalization.Trainers.Backbones;
using MLNetNormalization.Trainers.Data;
using MLNetNormalization.Trainers.Training;
using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.Imaging;
using MLNetNormalization.TorchBinding.NN;
using MLNetNormalization.TorchBinding.Optim;
using static MLNetNormalization.Bench.BenchHost;

// The image loader against the trainer: how many images per second the data view pipeline decodes and the batch
// assembler augments, against how many LeNet training consumes. A measurement, not a test: exit code 0 whatever
// the ratio, nonzero only when something failed.

const double Target = 3;
const int Side = 32;
const string StartMarker = "<!-- loader:start -->";
const string EndMarker = "<!-- loader:end -->";

return BenchHost.Main(args, Options.Parse, options => options.Help, Options.Usage, Run);

static int Run(Options options)
{
    var output = Path.GetFullPath(Path.Combine(FindRepoRoot(), options.Output));
    Torch.Threads = options.Threads;
    var date = DateTime.UtcNow;
    var fashion = FashionMnist.LoadTrain(options.DataDirectory);
    if (options.Images > fashion.Count) throw new ArgumentException($"--images {options.Images} is more than the {fashion.Count} Fashion-MNIST training images.");
    var folder = Directory.CreateTempSubdirectory("mlnorm-loaderbench-").FullName;
    try
    {
        var writing = Stopwatch.StartNew();
        WritePngs(fashion, options.Images, folder);
        Console.WriteLine($"wrote {options.Images} PNG files in {writing.Elapsed.TotalSeconds:F1} s");

        var decodeRates = new List<double>();
        InMemoryImageSource? decoded = null;
        for (var round = 0; round < options.Rounds; round++)
        {
            (decoded, var seconds) = Decode(folder);
            decodeRates.Add(decoded.Count / seconds);
            Console.WriteLine($"round {round + 1}: decoded {decoded.Count} images in {seconds:F2} s ({decodeRates[^1]:F0} images/s)");
        }

        var augmentRates = new List<double>();
        for (var round = 0; round < options.Rounds; round++)
        {
            var (images, seconds) = Augment(decoded!, options.BatchSize, round);
            augmentRates.Add(images / seconds);
            Console.WriteLine($"round {round + 1}: augmented {images} images in {seconds:F2} s ({augmentRates[^1]:F0} images/s)");
        }

        var trainRates = new List<double>();
        for (var round = 0; round < options.Rounds; round++)
        {
            var seconds = Train(decoded!, options.BatchSize, options.TrainSteps, round);
            trainRates.Add(options.TrainSteps * options.BatchSize / seconds);
            Console.WriteLine($"round {round + 1}: trained {options.TrainSteps} steps in {seconds:F2} s ({trainRates[^1]:F0} images/s)");
        }

        var (decode, augment, train) = (Stats.Median(decodeRates), Stats.Median(augmentRates), Stats.Median(trainRates));
        // One image goes through both stages, one after the other, on the loader's thread.
        var loader = 1 / (1 / decode + 1 / augment);
        var ratio = loader / train;
        Console.WriteLine($"loader {loader:F0} images/s, trainer {train:F0} images/s: {ratio:F1}x (target >= {Target}x) {(ratio >= Target ? "PASS" : "FAIL")}");
        ResultsFile.WriteSection(output, StartMarker, EndMarker, Report(options, date, decode, augment, loader, train, ratio));
        Console.WriteLine($"wrote {output}");
        return 0;
    }
    finally
    {
        Directory.Delete(folder, recursive: true);
    }
}

// One folder per class, as LoadImagesFromDirectory reads them.
static void WritePngs(ImageDataset fashion, int count, string folder)
{
    var size = fashion.Shape.ElementCount;
    for (var i = 0; i < count; i++)
    {
        using var scope = Torch.NewDisposeScope();
        var classFolder = Path.Combine(folder, $"class{fashion.Labels[i]}");
        Directory.CreateDirectory(classFolder);
        var image = Tensor.FromSpan<byte>(fashion.Pixels.AsSpan(i * size, size), [1, fashion.Height, fashion.Width]);
        ImageCodec.SaveFile(Path.Combine(classFolder, $"{i:D5}.png"), image);
    }
}

// The pipeline a user writes: files -> keys -> decoded grayscale images -> 32x32 -> floats in [0, 1], read by one cursor.
static (InMemoryImageSource Images, double Seconds) Decode(string folder)
{
    var ctx = new MLNormContext(seed: 0);
    var clock = Stopwatch.StartNew();
    var files = ctx.Data.LoadImagesFromDirectory(folder);
    var pipeline = ctx.Transforms.Conversion.MapValueToKey("Label")
        .Append(ctx.Transforms.LoadImages("Image", null, "ImagePath", ImageColorMode.Grayscale))
        .Append(ctx.Transforms.ResizeImages("Image", Side, Side))
        .Append(ctx.Transforms.ExtractPixels("Features", "Image"));
    var data = pipeline.Fit(files).Transform(files);
    var (features, label) = (data.Schema["Features"], data.Schema["Label"]);
    var pixels = new List<float>();
    var labels = new List<int>();
    using (var cursor = data.GetRowCursor([features, label]))
    {
        var getFeatures = cursor.GetGetter<float[]>(features);
        var getLabel = cursor.GetGetter<uint>(label);
        float[] row = [];
        uint key = 0;
        while (cursor.MoveNext())
        {
            getFeatures(ref row);
            getLabel(ref key);
            pixels.AddRange(row);
            labels.Add((int)key - 1);
        }
    }
    var seconds = clock.Elapsed.TotalSeconds;
    var classes = labels.Max() + 1;
    var names = Enumerable.Range(0, classes).Select(c => c.ToString(CultureInfo.InvariantCulture)).ToArray();
    return (new InMemoryImageSource(new ImageShape(1, Side, Side), names, [.. pixels], [.. labels]), seconds);
}

// A training epoch's batches as the engine assembles them: crop after 4 pixels of padding, flip, standardization.
static (int Images, double Seconds) Augment(ILabeledImageSource images, int batchSize, int epoch)
{
    var assembler = new BatchAssembler(images, batchSize, [FashionMnist.PixelMean], [FashionMnist.PixelStd], cropPadding: 4, horizontalFlip: true, seed: 1);
    var clock = Stopwatch.StartNew();
    var count = assembler.Training(epoch).Sum(batch => batch.Count);
    return (count, clock.Elapsed.TotalSeconds);
}

// LeNet with BN: one untimed step, then timed SGD steps on the assembler's batches.
static double Train(ILabeledImageSource images, int batchSize, int steps, int round)
{
    Torch.ManualSeed((ulong)round);
    using var model = Backbone.Create(Architecture.LeNet, images.Shape, images.ClassNames.Count, new NormalizerPlan("bn"));
    using var sgd = new SGD(model.Parameters(), learningRate: 0.01, momentum: 0.9);
    var assembler = new BatchAssembler(images, batchSize, [0.0], [1.0], seed: (ulong)round);
    var batches = assembler.Training(0).Take(steps + 1).ToList();
    var shape = images.Shape;
    var clock = new Stopwatch();
    for (var i = 0; i < batches.Count; i++)
    {
        if (i == 1) clock.Start();
        using var scope = Torch.NewDisposeScope();
        var batch = batches[i];
        var x = Tensor.FromSpan<float>(batch.Images, [batch.Count, shape.Channels, shape.Height, shape.Width]);
        var y = Tensor.FromSpan<long>(batch.Labels, [batch.Count]);
        sgd.ZeroGrad();
        Functional.CrossEntropy(model.Forward(x), y).Backward();
        sgd.Step();
    }
    return clock.Elapsed.TotalSeconds;
}

static string Report(Options options, DateTime date, double decode, double augment, double loader, double train, double ratio)
{
    var text = new StringBuilder();
    var f = CultureInfo.InvariantCulture;
    text.AppendLine("## Image loader vs LeNet training (bench/LoaderBench)");
    text.AppendLine();
    text.AppendLine(f, $"- Command: `{RunCommand("bench/LoaderBench", options.Arguments)}`, {date:yyyy-MM-dd HH:mm} UTC");
    text.AppendLine(f, $"- Machine: {MachineDescription()}; libtorch {Torch.Version}, Torch.Threads = {Torch.Threads} for training");
    text.AppendLine(f, $"- {options.Images} Fashion-MNIST training images as PNG files, one folder per class; medians of {options.Rounds} rounds; batch {options.BatchSize}.");
    text.AppendLine();
    text.AppendLine("| stage | images/s |");
    text.AppendLine("|---|---:|");
    text.AppendLine(f, $"| decode: LoadImagesFromDirectory, MapValueToKey, LoadImages (gray), ResizeImages 32x32, ExtractPixels, one cursor | {decode:F0} |");
    text.AppendLine(f, $"| augment: the batch assembler's crop (padding 4), flip and standardization, its background thread | {augment:F0} |");
    text.AppendLine(f, $"| loader: one image through both | {loader:F0} |");
    text.AppendLine(f, $"| trainer: LeNet + BN SGD steps, {options.TrainSteps} per round | {train:F0} |");
    text.AppendLine();
    text.AppendLine(f, $"Loader / trainer: **{ratio:F1}x** (target >= {Target}x): **{(ratio >= Target ? "PASS" : "FAIL")}**.");
    return text.ToString();
}
