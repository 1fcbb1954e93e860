using System.CommandLine;
using System.Globalization;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Spectre.Console;
using MLNetNormalization.Tools.Mlnorm.Report;
using MLNetNormalization.Sweeps;

namespace MLNetNormalization.Tools.Mlnorm;

/// <summary>
/// The mlnorm command line (System.CommandLine): train, sweep, evaluate and predict. Exit codes: 0 done; 2 bad input
/// (one line on stderr naming the thing and the fix; nothing left in --output); 1 another failure; 130 cancelled.
/// </summary>
public static partial class Cli
{
    public const int Success = 0, Failure = 1, BadInput = 2, Cancelled = 130;

    /// <summary>The folder of `mlnorm train`'s checkpoints in --output while it trains.</summary>
    private const string CheckpointsName = "checkpoints";

    /// <summary>Runs mlnorm with <paramref name="args"/>, writing to the given writers (the console's by default).</summary>
    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null, CancellationToken cancellation = default)
    {
        var output = stdout ?? Console.Out;
        var error = stderr ?? Console.Error;
        var live = stdout is null && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        var context = new RunContext(output, error, live, cancellation);
        var root = BuildRoot(context);
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            var command = parsed.CommandResult.Command;
            var name = command == root ? "mlnorm" : $"mlnorm {command.Name}";
            error.WriteLine($"mlnorm: error: {parsed.Errors[0].Message} (run '{name} --help' for the options)");
            return BadInput;
        }
        // No termination handling of System.CommandLine's (which would end the process 2 s after Ctrl+C, cleaned up or
        // not): the caller's token cancels the command, which stops at its next training step and cleans up (Program:
        // TerminationSignals).
        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null });
    }

    /// <summary>Where a command writes, and how it shows progress.</summary>
    internal sealed record RunContext(TextWriter Output, TextWriter Error, bool Live, CancellationToken Cancellation)
    {
        public ProgressDisplay NewProgress() =>
            new(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Output) }), Output, Live);
    }

    private static RootCommand BuildRoot(RunContext context)
    {
        var root = new RootCommand("mlnorm: train, sweep, evaluate and use image classifiers with normalization layers (MLNetNormalization).");
        root.Subcommands.Add(TrainCommand(context));
        root.Subcommands.Add(SweepCommand(context));
        root.Subcommands.Add(EvaluateCommand(context));
        root.Subcommands.Add(PredictCommand(context));
        root.Subcommands.Add(ExportCommand(context));
        root.Subcommands.Add(EvidenceCommand(context));
        return root;
    }

    /// <summary>Runs a command body: bad input becomes one line and exit code 2, cancellation 130, anything else one line and 1.</summary>
    private static int Guard(RunContext context, CancellationToken invocation, Func<CancellationToken, int> body)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.Cancellation, invocation);
        try
        {
            return body(linked.Token);
        }
        catch (UsageException e)
        {
            context.Error.WriteLine($"mlnorm: error: {ModelPipeline.OneLine(e.Message)}");
            return BadInput;
        }
        catch (ResumableCancellationException e)
        {
            context.Error.WriteLine($"mlnorm: cancelled; {e.Message}");
            return Cancelled;
        }
        catch (OperationCanceledException)
        {
            context.Error.WriteLine("mlnorm: cancelled; nothing was written to --output.");
            return Cancelled;
        }
        catch (Exception e)
        {
            context.Error.WriteLine($"mlnorm: failed: {e.GetType().Name}: {ModelPipeline.OneLine(e.Message)}");
            return Failure;
        }
    }

    private static Option<string> DatasetOption(string description) => new("--dataset")
    {
        Description = description,
        Required = true,
    };

    private static Option<string> OutputOption(bool required) => new("--output", "-o")
    {
        Description = "Folder to write into (must not exist or be empty); written beside it first and moved into place at the end",
        Required = required,
    };

    private static Option<string?> ClassNamesOption() => new("--class-names")
    {
        Description = "IDX datasets: class names by label number, comma-separated (default: the numbers)",
    };

    private static Option<string> AlphasOption() => new("--alphas")
    {
        Description = "Inference alphas to evaluate (0: running statistics, 1: each image's own), comma-separated",
        DefaultValueFactory = _ => string.Join(",", NormalizerSweepSettings.DefaultInferenceAlphas.Select(a => a.ToString(CultureInfo.InvariantCulture))),
    };

    private static IReadOnlyList<string>? ParseClassNames(string? text) =>
        text is null ? null : text.Split(',', StringSplitOptions.TrimEntries);

    private static Command TrainCommand(RunContext context)
    {
        var dataset = DatasetOption("Image folder (one subfolder of images per class) or folder of IDX files (train-images-idx3-ubyte[.gz], ...)");
        var norm = new Option<string>("--norm") { Description = "Normalizer string: bn, ghost:b=32, mn:k=2, hn:g=1, gn:g=32, ...", DefaultValueFactory = _ => "bn" };
        var arch = new Option<string>("--arch") { Description = "Backbone: lenet, nin, vgg11, vgg13, vgg16, resnet20, resnet32, resnet56, resnet18", DefaultValueFactory = _ => "lenet" };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training images", DefaultValueFactory = _ => 5 };
        var batch = new Option<int>("--batch-size") { Description = "Images per step", DefaultValueFactory = _ => 64 };
        var lr = new Option<double>("--learning-rate") { Description = "Peak SGD learning rate (cosine schedule)", DefaultValueFactory = _ => 0.05 };
        var size = new Option<int?>("--image-size") { Description = "Image folders: height and width images are resized to (default 28 for lenet, else 32)" };
        var color = new Option<string>("--color") { Description = "Image folders: gray (one channel) or rgb", DefaultValueFactory = _ => "gray" };
        color.AcceptOnlyFromAmong("gray", "rgb");
        var validation = new Option<double>("--validation-fraction") { Description = "Fraction of the images held out for per-epoch validation and the report", DefaultValueFactory = _ => 0.2 };
        var seed = new Option<int>("--seed") { Description = "Seed of the split, initialization and data order", DefaultValueFactory = _ => 1 };
        var classNames = ClassNamesOption();
        var alphas = AlphasOption();
        var output = OutputOption(required: true);
        var command = new Command("train", "Train one model; write model.zip, model.onnx, the consumption projects (TorchSharp and ONNX Runtime) and report.html to --output")
        {
            dataset, norm, arch, epochs, batch, lr, size, color, validation, seed, classNames, alphas, output,
        };
        command.SetAction((result, token) => Task.FromResult(Guard(context, token, cancellation =>
        {
            var settings = new TrainSettings(
                ModelPipeline.CheckNormalizer(result.GetValue(norm)!),
                ModelPipeline.ParseArchitecture(result.GetValue(arch)!),
                Positive(result.GetValue(epochs), "--epochs"),
                Positive(result.GetValue(batch), "--batch-size"),
                PositiveNumber(result.GetValue(lr), "--learning-rate"),
                result.GetValue(size),
                result.GetValue(color) == "rgb",
                Fraction(result.GetValue(validation)),
                result.GetValue(seed),
                ModelPipeline.ParseAlphas(result.GetValue(alphas)!));
            return Train(context, result.GetValue(dataset)!, ParseClassNames(result.GetValue(classNames)), settings, result.GetValue(output)!, cancellation);
        })));
        return command;
    }

    private static int Positive(int value, string option) =>
        value > 0 ? value : throw new UsageException($"{option} {value} must be 1 or more.");

    private static double PositiveNumber(double value, string option) =>
        value > 0 && double.IsFinite(value) ? value : throw new UsageException($"{option} {value.ToString(CultureInfo.InvariantCulture)} must be a number above 0.");

    private static double Fraction(double value) =>
        value is > 0 and < 1 ? value : throw new UsageException($"--validation-fraction {value.ToString(CultureInfo.InvariantCulture)} must be between 0 and 1 (exclusive), such as 0.2.");

    private static int Train(RunContext context, string datasetPath, IReadOnlyList<string>? classNames, TrainSettings settings, string outputPath, CancellationToken cancellation)
    {
        var ml = new MLContext(settings.Seed);
        var data = Dataset.Load(ml, datasetPath, DatasetRole.Train, classNames).RequireTwoClasses();
        ModelPipeline.ImageSize(data, settings);
        using var output = OutputFolder.Create(outputPath, [CheckpointsName],
            ["model.zip", OnnxModelName, TrainingRecord.FileName, ConsumptionProject.FolderName, ConsumptionProject.OnnxFolderName, TrainingProject.FolderName, "report.html", "report-data.json"]);
        // The checkpoints are written in --output itself, so a run stopped or killed at any moment leaves them for the same
        // command to resume (the seed is fixed, so the resumed run ends with the weights of an uninterrupted one).
        var checkpoints = output.ResumePath(CheckpointsName);
        var progress = context.NewProgress();
        progress.Line($"{data.Description}; training {settings.Architecture} with {settings.Normalizer} for {settings.Epochs} epochs");
        if (output.Resumed) progress.Line($"resuming the training whose checkpoints are in {checkpoints}");
        TrainedModel trained;
        try
        {
            trained = progress.Run(() => ModelPipeline.Train(ml, data, settings, progress.Report, cancellation, checkpoints));
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested && Directory.Exists(checkpoints) && Directory.EnumerateFiles(checkpoints).Any())
        {
            output.KeepResumeState();
            throw new ResumableCancellationException(
                $"kept the training's checkpoints in {checkpoints}: run the same command again to resume it, or delete {output.Target}.");
        }
        using var trainedModel = trained;
        var metrics = trained.Evaluation.Metrics;
        SaveModel(ml, trained.Model, output.PathOf("model.zip"));
        WriteOnnx(trained.Model, output.PathOf(OnnxModelName));
        ConsumptionProject.Write(output.Staging, trained.Evaluation.Classes);
        ConsumptionProject.WriteOnnx(output.Staging, trained.Classifier.Shape, trained.Evaluation.Classes);
        TrainingProject.Write(output.Staging, ModelPipeline.Recipe("train", data, classNames, settings, ModelPipeline.ClassifierOptions(settings)));
        var record = TrainingRecord.For("train", ml, data, classNames, settings, metrics.MicroAccuracy, output.Target);
        record.Write(output.Staging);
        var report = ReportBuilder.ForTraining("train", data, settings, trained);
        ReportRenderer.Write(report, output.Staging);
        cancellation.ThrowIfCancellationRequested();
        output.Commit();
        // The checkpoints are the training's working state, not part of the output; deleted only once the output is in
        // place, so that a kill while it is moved there leaves them for the same command (which resumes at the end).
        Directory.Delete(checkpoints, recursive: true);
        context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"validation: accuracy {metrics.MicroAccuracy:P2}, log loss {metrics.LogLoss:F4} on {record.DescribeSplit()} ({trained.Elapsed.TotalSeconds:F1} s training)"));
        context.Output.WriteLine($"wrote {output.Target}: model.zip, {OnnxModelName}, {TrainingRecord.FileName}, {ConsumptionProject.Projects}, {TrainingProject.FolderName}/{TrainingProject.ProjectName}.csproj, report.html, report-data.json");
        context.Output.WriteLine($"to score the held-out images again: {record.Evaluate}");
        return Success;
    }

    /// <summary>Saves a model with the input it takes: ImagePath and Label text columns.</summary>
    internal static void SaveModel(MLContext ml, ITransformer model, string path) =>
        ml.Model.Save(model, ml.Data.LoadFromEnumerable(new List<Dataset.ImageRow>()).Schema, path);

    /// <summary>Loads a model.zip that mlnorm wrote.</summary>
    internal static TransformerChain<ITransformer> LoadModel(MLContext ml, string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new UsageException($"--model {full} does not exist; pass the model.zip that mlnorm train or sweep wrote.");
        ITransformer model;
        try
        {
            model = ml.Model.Load(full, out _);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or InvalidDataException)
        {
            throw new UsageException($"--model {full} is not an ML.NET model ({ModelPipeline.OneLine(e.Message)}); pass the model.zip that mlnorm train or sweep wrote.");
        }
        catch (TargetInvocationException e)
        {
            // ML.NET calls each transformer's loader by reflection: the loader's own message is the innermost one.
            Exception inner = e;
            while (inner is TargetInvocationException { InnerException: { } next }) inner = next;
            throw new UsageException($"--model {full} cannot be loaded: {ModelPipeline.OneLine(inner.Message)}");
        }
        var chain = model as TransformerChain<ITransformer>
                    ?? throw new UsageException($"--model {full} is not a pipeline that mlnorm wrote; pass the model.zip that mlnorm train or sweep wrote.");
        ModelPipeline.ClassifierOf(chain);
        if (chain.GetOutputSchema(ml.Data.LoadFromEnumerable(new List<Dataset.ImageRow>()).Schema).GetColumnOrNull(ModelPipeline.PredictedLabelValueColumn) is not { Type: TextDataViewType })
            throw new UsageException(
                $"--model {full} does not give a class name in {ModelPipeline.PredictedLabelValueColumn} for an image file in ImagePath; pass the model.zip that mlnorm train or sweep wrote.");
        return chain;
    }

    private static Command EvaluateCommand(RunContext context)
    {
        var model = new Option<string>("--model") { Description = "model.zip written by mlnorm train or sweep", Required = true };
        var dataset = DatasetOption("Image folder or IDX folder to evaluate on (IDX: the t10k/test set when there is one, the train set with --split)");
        var split = new Option<string>("--split")
        {
            Description = $"Images of --dataset to score: all; validation (the ones train or sweep held out and printed the accuracy of) or train (the rest), " +
                          $"split as {TrainingRecord.FileName} beside --model records it (--dataset must be the dataset the model was trained on)",
            DefaultValueFactory = _ => "all",
        };
        split.AcceptOnlyFromAmong("all", "validation", "train");
        var classNames = ClassNamesOption();
        var alphas = AlphasOption();
        var output = OutputOption(required: false);
        var command = new Command("evaluate", "Evaluate a saved model on a dataset (or the held-out part of the one it was trained on): accuracy, log loss, confusion table; report.html with --output")
        {
            model, dataset, split, classNames, alphas, output,
        };
        command.SetAction((result, token) => Task.FromResult(Guard(context, token, _ =>
        {
            var ml = new MLContext(1);
            var alphaList = ModelPipeline.ParseAlphas(result.GetValue(alphas)!);
            var modelPath = result.GetValue(model)!;
            var chain = LoadModel(ml, modelPath);
            var part = result.GetValue(split)!;
            var splitOption = $"--split {part}";
            var record = part == "all" ? null : TrainingRecord.ReadBeside(modelPath, splitOption);
            var data = Dataset.Load(ml, result.GetValue(dataset)!, record is null ? DatasetRole.Test : DatasetRole.Train, ParseClassNames(result.GetValue(classNames)));
            var rows = data.Rows;
            if (record is not null)
            {
                record.RequireSameRows(data, splitOption);
                var halves = ModelPipeline.Split(ml, data, record.ValidationFraction, record.Seed);
                rows = part == "validation" ? halves.TestSet : halves.TrainSet;
            }
            using var folder = result.GetValue(output) is { } path ? OutputFolder.Create(path) : null;
            var evaluation = ModelPipeline.Evaluate(ml, chain, ModelPipeline.ClassifierInput(chain, data, rows), alphaList);
            var metrics = evaluation.Metrics;
            context.Output.WriteLine(record is null ? data.Description
                : $"{data.Description}; scoring the {(part == "validation" ? "validation" : "training")} images of mlnorm {record.Command}'s split ({record.DescribeSplit()})");
            context.Output.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"accuracy {metrics.MicroAccuracy:P2}, macro accuracy {metrics.MacroAccuracy:P2}, log loss {metrics.LogLoss:F4} on {metrics.ConfusionMatrix.Counts.Sum(row => row.Sum())} images"));
            foreach (var point in evaluation.Alphas)
                context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"inference alpha {point.Alpha}: accuracy {point.MicroAccuracy:P2}, log loss {point.LogLoss:F4}"));
            if (folder is not null)
            {
                ReportRenderer.Write(ReportBuilder.ForEvaluation(data, Path.GetFullPath(result.GetValue(model)!), ModelPipeline.ClassifierOf(chain), evaluation), folder.Staging);
                folder.Commit();
                context.Output.WriteLine($"wrote {folder.Target}: report.html");
            }
            return Success;
        })));
        return command;
    }

    private static Command PredictCommand(RunContext context)
    {
        var model = new Option<string>("--model") { Description = "model.zip written by mlnorm train or sweep, or model.onnx (scored with ONNX Runtime)", Required = true };
        var images = new Argument<string[]>("images") { Description = "Image files to classify", Arity = ArgumentArity.OneOrMore };
        var command = new Command("predict", "Print the predicted class and its probability for each image file (tab-separated)") { model, images };
        command.SetAction((result, token) => Task.FromResult(Guard(context, token, _ =>
        {
            var ml = new MLContext(1);
            var files = result.GetValue(images)!;
            foreach (var file in files)
                if (!File.Exists(file))
                    throw new UsageException($"image {Path.GetFullPath(file)} does not exist; pass image files (png, jpg, bmp, gif, webp).");
            var classify = Classifier(ml, result.GetValue(model)!);
            var failed = 0;
            foreach (var file in files)
            {
                // Every readable image gets its line; one that cannot be read is named with the reason, and the rest go on.
                try
                {
                    Dataset.RequireComplete(Path.GetFullPath(file));
                    var (label, probability) = classify(Path.GetFullPath(file));
                    context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{file}\t{label}\t{probability:F6}"));
                }
                catch (Exception e) when (e is InvalidDataException or InvalidOperationException or ArgumentException or IOException)
                {
                    failed++;
                    context.Error.WriteLine($"mlnorm: {file}: not classified: {ModelPipeline.OneLine(e.Message)}");
                }
            }
            if (failed == 0) return Success;
            context.Error.WriteLine($"mlnorm: {failed} of {files.Length} images could not be classified (named above); the others were.");
            return Failure;
        })));
        return command;
    }

    /// <summary>The predicted class and its probability of an image file, by a model.zip (TorchSharp) or a model.onnx (ONNX Runtime).</summary>
    private static Func<string, (string Label, float Probability)> Classifier(MLContext ml, string modelPath)
    {
        if (modelPath.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            var onnx = OnnxModelFile.Read(modelPath);
            var onnxEngine = ml.Model.CreatePredictionEngine<Dataset.ImageRow, OnnxModelFile.Prediction>(onnx.Pipeline(ml));
            return path =>
            {
                var prediction = onnxEngine.Predict(new Dataset.ImageRow { ImagePath = path });
                return (onnx.ClassNames[(int)prediction.PredictedLabel.Single()], prediction.Score.Max());
            };
        }
        var engine = ml.Model.CreatePredictionEngine<Dataset.ImageRow, Prediction>(LoadModel(ml, modelPath));
        return path =>
        {
            var prediction = engine.Predict(new Dataset.ImageRow { ImagePath = path });
            return (prediction.PredictedLabelValue, prediction.Score.Max());
        };
    }

    /// <summary>What predict reads from the model's output.</summary>
    internal sealed class Prediction
    {
        public string PredictedLabelValue { get; set; } = "";

        public float[] Score { get; set; } = [];
    }
}
