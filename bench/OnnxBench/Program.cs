using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Xml.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetNormalization;
using MLNetNormalization.Bench;
using MLNetNormalization.Data;
using TorchSharp;
using static MLNetNormalization.Bench.BenchHost;

// The exported ONNX model against the TorchSharp transformer: throughput, latency, cold start and deployed size (see
// Options.Usage). A measurement, not a test: exit code 0 whatever it measured, nonzero only when something failed.

const string StartMarker = "<!-- onnx:start -->";
const string EndMarker = "<!-- onnx:end -->";
const int Batch = 64;

return BenchHost.Main(args, Options.Parse, options => options.Help, Options.Usage, Run);

static int Run(Options options)
{
    var repo = FindRepoRoot();
    var mlnorm = Path.Combine(repo, "tools/mlnorm/bin/Release/net10.0/mlnorm.dll");
    if (!File.Exists(mlnorm)) throw new FileNotFoundException($"{mlnorm} is not built; run dotnet build -c Release tools/mlnorm first.");
    torch.set_num_threads(options.Threads);
    var scratch = Directory.CreateTempSubdirectory("mlnorm-onnxbench-").FullName;
    try
    {
        var images = Path.Combine(scratch, "images");
        ImageFolder.Save(images, FashionMnist.LoadTrain(), 50);
        var sample = Directory.GetFiles(Directory.GetDirectories(images).Order(StringComparer.Ordinal).First()).Order(StringComparer.Ordinal).First();
        var test = TestFeatures(Math.Max(options.BatchImages, options.SingleImages));
        Console.WriteLine($"{options.Threads} threads, {options.Rounds} rounds; {options.BatchImages} images a throughput run, {options.SingleImages} single predictions");

        var rows = new List<string>();
        var coldRows = new List<string>();
        var throughputRatios = new List<(string Model, double Ratio)>();
        var coldOnnx = new List<(string Model, double Seconds)>();
        foreach (var (arch, norm) in new[] { ("lenet", "bn"), ("lenet", "mn:k=2"), ("resnet20", "bn"), ("resnet20", "mn:k=2") })
        {
            var name = $"{(arch == "lenet" ? "LeNet" : "ResNet-20")} {norm}";
            var run = Path.Combine(scratch, $"{arch}-{norm.Replace(':', '-').Replace('=', '-')}");
            Train(mlnorm, images, arch, norm, run);
            var measured = Measure(options, Path.Combine(run, "model.zip"), Path.Combine(run, "model.onnx"), test);
            var ratio = measured.OrtBatch / measured.TorchSharpBatch;
            throughputRatios.Add((name, ratio));
            rows.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {measured.TorchSharpBatch:F0} | {measured.OrtBatch:F0} | {measured.ApplyOnnxBatch:F0} | **{ratio:F2}** | " +
                $"{measured.TorchSharpSingle * 1e3:F2} | {measured.OrtSingle * 1e3:F2} | {measured.ApplyOnnxSingle * 1e3:F2} |"));
            Console.WriteLine(rows[^1]);
            if (norm != "bn") continue;
            var cold = ColdStart(options, run, sample);
            coldOnnx.Add((name, cold.OnnxSeconds));
            coldRows.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {cold.TorchSharpSeconds:F2} | **{cold.OnnxSeconds:F2}** | {cold.TorchSharpMegabytes:F0} | {cold.OnnxMegabytes:F0} |"));
            Console.WriteLine(coldRows[^1]);
        }

        var report = new StringBuilder();
        report.AppendLine("## ONNX export: ONNX Runtime against the TorchSharp transformer (OnnxBench)");
        report.AppendLine();
        report.AppendLine($"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC: `{RunCommand("bench/OnnxBench", options.Arguments)}`, run alone.");
        report.AppendLine($"Machine: {MachineDescription()}; TorchSharp {PackageVersion(typeof(torch).Assembly)}, ONNX Runtime {PackageVersion(typeof(InferenceSession).Assembly)}, " +
                          $"ML.NET {PackageVersion(typeof(MLContext).Assembly)}; {options.Threads} threads.");
        report.AppendLine();
        report.AppendLine("Models: `mlnorm train` on 500 Fashion-MNIST images as a 28x28 gray image folder, one epoch; scored on 28x28 test images " +
                          $"standardized as mlnorm does. Throughput: images/s at batch {Batch}, the best of {options.Rounds} rounds taking turns; " +
                          $"latency: the median of {options.SingleImages} single-image predictions in the best round.");
        report.AppendLine();
        report.AppendLine("| model | TorchSharp Transform (img/s) | ORT session (img/s) | ApplyOnnxModel Transform (img/s) | ORT / TorchSharp | " +
                          "TorchSharp PredictionEngine (ms) | ORT session, 1 image (ms) | ApplyOnnxModel PredictionEngine (ms) |");
        report.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in rows) report.AppendLine(row);
        report.AppendLine();
        report.AppendLine($"Cold start: wall time of the published consumer program (`dotnet <consumer>.dll image.png`) from process start to its exit " +
                          $"after printing the image's prediction, median of {options.ColdStarts} starts taking turns (after one of each). Deployed size: the " +
                          "`dotnet publish -c Release` folder of consume/ (model.zip, TorchSharp, libtorch) and consume-onnx/ (model.onnx, ML.NET, ONNX Runtime).");
        report.AppendLine();
        report.AppendLine("| model | consume/ first prediction (s) | consume-onnx/ first prediction (s) | consume/ size (MB) | consume-onnx/ size (MB) |");
        report.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var row in coldRows) report.AppendLine(row);
        report.AppendLine();
        var throughputPass = throughputRatios.All(r => r.Ratio >= 1);
        var coldPass = coldOnnx.All(c => c.Seconds <= 1);
        report.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Targets: ORT throughput >= TorchSharp's at batch {Batch}: {(throughputPass ? "PASS" : "FAIL")} " +
            $"({string.Join(", ", throughputRatios.Select(r => $"{r.Model} {r.Ratio:F2}x"))}); first prediction within 1 s through ORT: " +
            $"{(coldPass ? "PASS" : "FAIL")} ({string.Join(", ", coldOnnx.Select(c => $"{c.Model} {c.Seconds:F2} s"))})."));
        var output = Path.GetFullPath(Path.Combine(repo, options.Output));
        ResultsFile.WriteSection(output, StartMarker, EndMarker, report.ToString());
        Console.WriteLine($"wrote {output}");
        return 0;
    }
    finally
    {
        Directory.Delete(scratch, recursive: true);
    }
}

// The first test images as mlnorm feeds them: [count, 1, 28, 28] floats standardized as (pixel - 127.5) / 127.5.
static float[] TestFeatures(int count)
{
    var data = FashionMnist.LoadTest();
    var size = data.Shape.ElementCount;
    var features = new float[count * size];
    for (var i = 0; i < count; i++)
    {
        var image = features.AsSpan(i * size, size);
        data.ReadImage(i % data.Count, image);
        for (var j = 0; j < size; j++) image[j] = (image[j] * 255 - 127.5f) / 127.5f;
    }
    return features;
}

static void Train(string mlnorm, string images, string arch, string norm, string output)
{
    var (code, stdout, stderr) = RunProcess("dotnet", [mlnorm, "train", "--dataset", images, "--arch", arch, "--norm", norm, "--epochs", "1", "--image-size", "28",
                                                "--batch-size", "32", "--output", output], Path.GetDirectoryName(output)!);
    if (code != 0) throw new InvalidOperationException($"mlnorm train --arch {arch} --norm {norm} failed ({code}):\n{stdout}\n{stderr}");
}

static Measured Measure(Options options, string modelZip, string modelOnnx, float[] features)
{
    var ml = new MLContext(1);
    using var classifier = ml.Model.Load(modelZip, out _) is TransformerChain<ITransformer> chain
        ? chain.OfType<ImageClassificationTransformer>().Single()
        : throw new InvalidDataException($"{modelZip} is not a pipeline mlnorm wrote.");
    var size = classifier.Shape.ElementCount;
    var batchRows = Enumerable.Range(0, options.BatchImages).Select(i => new FeatureRow { Features = features.AsSpan(i * size, size).ToArray() }).ToList();
    var view = ml.Data.LoadFromEnumerable(batchRows, SchemaFor(ml, size));
    var applyOnnx = ml.Transforms.ApplyOnnxModel([OnnxExport.ScoreName], [OnnxExport.FeaturesName], modelOnnx).Fit(view);
    using var sessionOptions = new SessionOptions { IntraOpNumThreads = options.Threads };
    using var session = new InferenceSession(modelOnnx, sessionOptions);
    var torchEngine = ml.Model.CreatePredictionEngine<FeatureRow, ScoreRow>(classifier, inputSchemaDefinition: SchemaFor(ml, size));
    var onnxEngine = ml.Model.CreatePredictionEngine<FeatureRow, ScoreRow>(applyOnnx, inputSchemaDefinition: SchemaFor(ml, size));
    var shape = classifier.Shape;

    double Throughput(Action score) { score(); var watch = Stopwatch.StartNew(); score(); return options.BatchImages / watch.Elapsed.TotalSeconds; }
    double Latency(Func<int, float> predict)
    {
        for (var i = 0; i < 10; i++) predict(i);
        var times = new List<double>();
        for (var i = 0; i < options.SingleImages; i++)
        {
            var watch = Stopwatch.StartNew();
            predict(i);
            times.Add(watch.Elapsed.TotalSeconds);
        }
        return Stats.Median(times);
    }
    float OrtScore(int first, int count)
    {
        var input = new DenseTensor<float>(features.AsMemory(first * size, count * size), [count, shape.Channels, shape.Height, shape.Width]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExport.FeaturesName, input)]);
        return results.First(r => r.Name == OnnxExport.ScoreName).AsTensor<float>().GetValue(0);
    }

    var best = new Measured(0, 0, 0, double.MaxValue, double.MaxValue, double.MaxValue);
    for (var round = 0; round < options.Rounds; round++)
    {
        var torchBatch = Throughput(() => ReadScores(classifier.Transform(view), OnnxExport.ScoreName));
        var ortBatch = Throughput(() => { for (var i = 0; i < options.BatchImages; i += Batch) OrtScore(i, Math.Min(Batch, options.BatchImages - i)); });
        var applyBatch = Throughput(() => ReadScores(applyOnnx.Transform(view), OnnxExport.ScoreName));
        var torchSingle = Latency(i => torchEngine.Predict(batchRows[i % batchRows.Count]).Score[0]);
        var ortSingle = Latency(i => OrtScore(i % options.BatchImages, 1));
        var applySingle = Latency(i => onnxEngine.Predict(batchRows[i % batchRows.Count]).Score[0]);
        best = new(Math.Max(best.TorchSharpBatch, torchBatch), Math.Max(best.OrtBatch, ortBatch), Math.Max(best.ApplyOnnxBatch, applyBatch),
                   Math.Min(best.TorchSharpSingle, torchSingle), Math.Min(best.OrtSingle, ortSingle), Math.Min(best.ApplyOnnxSingle, applySingle));
    }
    return best;
}

static SchemaDefinition SchemaFor(MLContext ml, int size)
{
    var schema = SchemaDefinition.Create(typeof(FeatureRow));
    schema[nameof(FeatureRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, size);
    return schema;
}

static void ReadScores(IDataView scored, string column)
{
    var score = scored.Schema[column];
    using var cursor = scored.GetRowCursor([score]);
    var getter = cursor.GetGetter<VBuffer<float>>(score);
    var value = default(VBuffer<float>);
    while (cursor.MoveNext()) getter(ref value);
}

static ColdStartResult ColdStart(Options options, string run, string image)
{
    IsolatePackages(run);
    var torchSharp = Publish(Path.Combine(run, "consume"));
    var onnx = Publish(Path.Combine(run, "consume-onnx"));
    var programs = new[] { Path.Combine(torchSharp, "MLNormConsumer.dll"), Path.Combine(onnx, "MLNormOnnxConsumer.dll") };
    var times = programs.ToDictionary(p => p, _ => new List<double>());
    for (var start = -1; start < options.ColdStarts; start++)
    {
        foreach (var program in start % 2 == 0 ? programs : programs.Reverse())
        {
            var watch = Stopwatch.StartNew();
            var (code, stdout, stderr) = RunProcess("dotnet", [program, image], Path.GetDirectoryName(program)!);
            var seconds = watch.Elapsed.TotalSeconds;
            if (code != 0 || !stdout.StartsWith(image, StringComparison.Ordinal))
                throw new InvalidOperationException($"{program} failed ({code}):\n{stdout}\n{stderr}");
            if (start >= 0) times[program].Add(seconds);
        }
    }
    return new(Stats.Median(times[programs[0]]), Stats.Median(times[programs[1]]), Megabytes(torchSharp), Megabytes(onnx));
}

static string Publish(string project)
{
    var output = Path.Combine(project, "out");
    var (code, stdout, stderr) = RunProcess("dotnet", ["publish", "-c", "Release", "-o", output, "-nologo", "-v", "q"], project);
    if (code != 0) throw new InvalidOperationException($"dotnet publish of {project} failed ({code}):\n{stdout}\n{stderr}");
    return output;
}

static double Megabytes(string folder) => new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length) / 1e6;

// The consumers restore into a packages folder of their own, so that consume/ gets the MLNetNormalization packages mlnorm
// carries (packed by this build) rather than an older build's of the same version from the global packages folder; every
// other package is read from the global packages folder through links.
static void IsolatePackages(string folder)
{
    var global = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
    var links = Path.Combine(folder, "machine-packages");
    Directory.CreateDirectory(links);
    foreach (var package in Directory.GetDirectories(global).Where(p => !Path.GetFileName(p).StartsWith("mlnetnormalization.", StringComparison.OrdinalIgnoreCase)))
        Directory.CreateSymbolicLink(Path.Combine(links, Path.GetFileName(package)), package);
    static XElement Add(string key, string value) => new("add", new XAttribute("key", key), new XAttribute("value", value));
    new XDocument(new XElement("configuration",
        new XElement("config", Add("globalPackagesFolder", Path.Combine(folder, "nuget-packages"))),
        new XElement("fallbackPackageFolders", Add("machine", links)))).Save(Path.Combine(folder, "nuget.config"));
}

static (int Code, string Stdout, string Stderr) RunProcess(string file, IEnumerable<string> arguments, string directory)
{
    var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var argument in arguments) start.ArgumentList.Add(argument);
    using var process = Process.Start(start)!;
    var stdout = process.StandardOutput.ReadToEndAsync();
    var stderr = process.StandardError.ReadToEndAsync();
    process.WaitForExit();
    return (process.ExitCode, stdout.Result, stderr.Result);
}

internal sealed class FeatureRow
{
    public float[] Features { get; set; } = [];
}

internal sealed class ScoreRow
{
    public float[] Score { get; set; } = [];
}

internal sealed record Measured(double TorchSharpBatch, double OrtBatch, double ApplyOnnxBatch, double TorchSharpSingle, double OrtSingle, double ApplyOnnxSingle);

internal sealed record ColdStartResult(double TorchSharpSeconds, double OnnxSeconds, double TorchSharpMegabytes, double OnnxMegabytes);
