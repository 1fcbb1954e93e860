using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using MLNetNormalization.Sweeps;
using Microsoft.ML;
using MLNetNormalization.Training;
using MLNetNormalization.Tools.Mlnorm.Report;

namespace MLNetNormalization.Tools.Mlnorm;

/// <summary>`mlnorm sweep`: a normalizer sweep (the project's CreateNormalizerSweep) within a time budget.</summary>
public static partial class Cli
{
    /// <summary>--norms names: the normalizers a sweep can try.</summary>
    private static readonly Dictionary<string, NormalizerKind> SweepNormalizers = new(StringComparer.OrdinalIgnoreCase)
    {
        ["bn"] = NormalizerKind.BatchNorm, ["ghost"] = NormalizerKind.GhostBatchNorm, ["bgn"] = NormalizerKind.BatchGroupNorm,
        ["mn"] = NormalizerKind.ModeNorm, ["mgn"] = NormalizerKind.ModeGroupNorm, ["hn"] = NormalizerKind.HeterologousNorm,
        ["en"] = NormalizerKind.ExtendedNorm, ["gn"] = NormalizerKind.GroupNorm,
    };

    private static Command SweepCommand(RunContext context)
    {
        var dataset = DatasetOption("Image folder (one subfolder of images per class) or folder of IDX files");
        var time = new Option<string?>("--time") { Description = "Time budget of the whole sweep: 90s, 10m, 1h30m (default: none)" };
        var strategy = new Option<string>("--strategy") { Description = "grid, random or halving (successive halving)", DefaultValueFactory = _ => "halving" };
        strategy.AcceptOnlyFromAmong("grid", "random", "halving");
        var norms = new Option<string>("--norms") { Description = $"Normalizers to try, comma-separated: {string.Join(", ", SweepNormalizers.Keys)}", DefaultValueFactory = _ => "bn,ghost,mn,hn,gn" };
        var arch = new Option<string>("--arch") { Description = "Backbone: lenet, nin, vgg11, ..., resnet20, resnet18", DefaultValueFactory = _ => "lenet" };
        var epochs = new Option<int>("--epochs") { Description = "Epochs of a full trial (halving trains fewer in its first rungs)", DefaultValueFactory = _ => 3 };
        var rates = new Option<string>("--learning-rates") { Description = "Learning rates to try, comma-separated (each normalizer variant with each rate)", DefaultValueFactory = _ => "0.05,0.1" };
        var maxTrials = new Option<int?>("--max-trials")
        {
            Description = "Most trials (default: the whole grid for grid, 10 for random, 9 for halving); random and halving draw them from the grid taking the normalizers in turn",
        };
        var batch = new Option<int>("--batch-size") { Description = "Images per step", DefaultValueFactory = _ => 64 };
        var size = new Option<int?>("--image-size") { Description = "Image folders: height and width images are resized to (default 28 for lenet, else 32)" };
        var color = new Option<string>("--color") { Description = "Image folders: gray or rgb", DefaultValueFactory = _ => "gray" };
        color.AcceptOnlyFromAmong("gray", "rgb");
        var validation = new Option<double>("--validation-fraction") { Description = "Fraction of the images held out to score the trials", DefaultValueFactory = _ => 0.2 };
        var seed = new Option<int>("--seed") { Description = "Seed of the split, sampling and every trial's training", DefaultValueFactory = _ => 1 };
        var classNames = ClassNamesOption();
        var alphas = AlphasOption();
        var output = OutputOption(required: true);
        var command = new Command("sweep",
            "Try normalizers (and learning rates) within a time budget; write the best model.zip and model.onnx, training.json, the consumption projects, report.html and the trial log to --output. " +
            "After Ctrl+C the trial log stays in --output: the same command resumes the sweep")
        {
            dataset, time, strategy, norms, arch, epochs, rates, maxTrials, batch, size, color, validation, seed, classNames, alphas, output,
        };
        command.SetAction((result, token) => Task.FromResult(Guard(context, token, cancellation =>
        {
            var architecture = ModelPipeline.ParseArchitecture(result.GetValue(arch)!);
            var budgetText = result.GetValue(time);
            var sweep = new SweepSettings(
                ParseNorms(result.GetValue(norms)!),
                ParseRates(result.GetValue(rates)!),
                budgetText is null ? null : ParseDuration(budgetText),
                budgetText,
                result.GetValue(strategy) switch { "grid" => SweepStrategy.Grid, "random" => SweepStrategy.Random, _ => SweepStrategy.SuccessiveHalving },
                result.GetValue(maxTrials) is { } trials ? Positive(trials, "--max-trials") : null);
            var settings = new TrainSettings("(swept)", architecture, Positive(result.GetValue(epochs), "--epochs"), Positive(result.GetValue(batch), "--batch-size"),
                sweep.LearningRates[0], result.GetValue(size), result.GetValue(color) == "rgb", Fraction(result.GetValue(validation)), result.GetValue(seed),
                ModelPipeline.ParseAlphas(result.GetValue(alphas)!));
            if (sweep.Strategy == SweepStrategy.SuccessiveHalving && settings.Epochs < 2)
                throw new UsageException($"--strategy halving with --epochs {settings.Epochs}: halving's first rung trains 1 epoch and must stop before the full epochs; pass --epochs 2 or more, or --strategy grid.");
            return Sweep(context, result.GetValue(dataset)!, ParseClassNames(result.GetValue(classNames)), settings, sweep, result.GetValue(output)!, cancellation);
        })));
        return command;
    }

    /// <summary>The sweep's trial log in --output, and the folder of its unfinished trials' checkpoints while it runs: what a cancelled sweep keeps to resume.</summary>
    private const string TrialLogName = "trials.jsonl", TrialStateName = "trials.trials";

    private sealed record SweepSettings(IReadOnlyList<NormalizerKind> Normalizers, IReadOnlyList<double> LearningRates, TimeSpan? Budget, string? BudgetText,
                                        SweepStrategy Strategy, int? MaxTrials);

    private static IReadOnlyList<NormalizerKind> ParseNorms(string text)
    {
        var kinds = new List<NormalizerKind>();
        foreach (var name in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!SweepNormalizers.TryGetValue(name, out var kind))
                throw new UsageException($"--norms: '{name}' is not a normalizer a sweep can try; use some of {string.Join(", ", SweepNormalizers.Keys)}.");
            if (!kinds.Contains(kind)) kinds.Add(kind);
        }
        return kinds.Count > 0 ? kinds : throw new UsageException($"--norms is empty; name one or more of {string.Join(", ", SweepNormalizers.Keys)}.");
    }

    private static IReadOnlyList<double> ParseRates(string text)
    {
        var rates = new List<double>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            rates.Add(double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) && rate > 0 && double.IsFinite(rate)
                ? rate : throw new UsageException($"--learning-rates: '{part}' is not a number above 0; pass rates such as 0.05,0.1."));
        return rates.Count > 0 ? rates : throw new UsageException("--learning-rates is empty; pass one or more rates such as 0.05,0.1.");
    }

    [GeneratedRegex(@"^(?:(?<h>\d+(?:\.\d+)?)h)?(?:(?<m>\d+(?:\.\d+)?)m(?!s))?(?:(?<s>\d+(?:\.\d+)?)s)?(?:(?<ms>\d+)ms)?$")]
    private static partial Regex DurationPattern();

    /// <summary>Parses 90s, 10m, 1h30m, 500ms or a TimeSpan (00:10:00); refuses zero and negative budgets.</summary>
    internal static TimeSpan ParseDuration(string text)
    {
        var trimmed = text.Trim();
        TimeSpan duration;
        var match = DurationPattern().Match(trimmed);
        if (trimmed.Length > 0 && match.Success)
        {
            double Part(string name) => match.Groups[name].Success ? double.Parse(match.Groups[name].Value, CultureInfo.InvariantCulture) : 0;
            duration = TimeSpan.FromHours(Part("h")) + TimeSpan.FromMinutes(Part("m")) + TimeSpan.FromSeconds(Part("s")) + TimeSpan.FromMilliseconds(Part("ms"));
        }
        else if (!TimeSpan.TryParse(trimmed, CultureInfo.InvariantCulture, out duration))
        {
            throw new UsageException($"--time '{text}' is not a duration; pass one such as 90s, 10m or 1h30m.");
        }
        return duration > TimeSpan.Zero ? duration : throw new UsageException($"--time '{text}' leaves no time for an epoch; pass a positive duration such as 10m.");
    }

    /// <summary>Reports synchronously on the sweep's thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    private static int Sweep(RunContext context, string datasetPath, IReadOnlyList<string>? classNames, TrainSettings settings, SweepSettings sweep,
                             string outputPath, CancellationToken cancellation)
    {
        var ml = new MLContext(settings.Seed);
        var data = Dataset.Load(ml, datasetPath, DatasetRole.Train, classNames).RequireTwoClasses();
        ModelPipeline.ImageSize(data, settings);
        using var output = OutputFolder.Create(outputPath, [TrialLogName, TrialStateName],
            ["model.zip", OnnxModelName, TrainingRecord.FileName, ConsumptionProject.FolderName, ConsumptionProject.OnnxFolderName, TrainingProject.FolderName, "report.html", "report-data.json"]);
        // The log and the trials' checkpoints are written in --output itself, so a run killed at any moment leaves them there.
        var logPath = output.ResumePath(TrialLogName);
        NormalizerSweepExperiment experiment;
        try
        {
            experiment = ml.MulticlassClassification.CreateNormalizerSweep(new NormalizerSweepSettings
            {
                BaseOptions = new ImageClassifierWithNormOptions
                {
                    Architecture = settings.Architecture,
                    BatchSize = settings.BatchSize,
                    Schedule = LearningRateScheduleKind.Cosine,
                    CropPadding = 0,
                    HorizontalFlip = true,
                },
                SearchSpace = new NormalizerSearchSpace
                {
                    Normalizers = sweep.Normalizers,
                    // Ghost batches of 32, or half the batch when it is smaller (a ghost batch as large as the batch is BN).
                    GhostBatchSizes = [Math.Max(1, Math.Min(32, settings.BatchSize / 2))],
                    LearningRates = sweep.LearningRates,
                    Epochs = [settings.Epochs],
                },
                Strategy = sweep.Strategy,
                MaxTrials = sweep.MaxTrials,
                TimeBudget = sweep.Budget,
                Seed = settings.Seed,
                InferenceAlphas = settings.Alphas.Count > 0 ? settings.Alphas : [0, 1],
                LogPath = logPath,
            });
        }
        catch (ArgumentException e)
        {
            throw new UsageException(SweepMessage(e.Message, sweep));
        }

        var prepared = ModelPipeline.Prepare(ml, data, settings);
        var progress = context.NewProgress();
        if (output.Resumed) progress.Line($"resuming the sweep whose trial log is in {output.Target}");
        progress.Line($"{data.Description}; sweeping {experiment.Candidates.Count} candidates ({string.Join(", ", experiment.Candidates.Select(c => c.Normalizer).Distinct())}) " +
                      $"with {settings.Architecture}, {sweep.Strategy}{(sweep.BudgetText is null ? "" : $", budget {sweep.BudgetText}")}");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var curves = new Dictionary<int, List<TimePoint>>();
        void Report(NormalizerSweepProgress p)
        {
            switch (p.Kind)
            {
                case NormalizerSweepProgressKind.TrialStarted:
                    progress.TrialStarted(p.TrialIndex + 1, experiment.Candidates.Count, Describe(p.Options), p.Options.Epochs);
                    break;
                case NormalizerSweepProgressKind.Training when p.Training is { } training:
                    if (training.Phase == TrainingPhase.EpochEnd && training.Validation is { } v)
                    {
                        if (!curves.TryGetValue(p.TrialIndex, out var curve)) curves[p.TrialIndex] = curve = [];
                        curve.Add(new TimePoint(clock.Elapsed.TotalSeconds, v.MicroAccuracy));
                    }
                    progress.Report(training);
                    break;
                case NormalizerSweepProgressKind.TrialFinished when p.Trial is { } trial:
                    progress.TrialFinished(Summary(trial));
                    break;
                case NormalizerSweepProgressKind.TrialResumedFromLog when p.Trial is { } trial:
                    progress.Line($"{Summary(trial)} (from the trial log)");
                    break;
            }
        }

        // Cancelled once the log exists: it stays in --output (with the unfinished trials' checkpoints) for the same command to resume.
        ResumableCancellationException KeepForResume()
        {
            output.KeepResumeState();
            return new ResumableCancellationException(
                $"kept the sweep's trial log in {output.Target} ({TrialLogName}, {TrialStateName}/): run the same command again to resume it without rerunning finished trials, or delete {output.Target}.");
        }

        NormalizerSweepResult result;
        try
        {
            result = progress.Run(() => experiment.Execute(prepared.Train, prepared.Validation, new SyncProgress<NormalizerSweepProgress>(Report), cancellation));
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested && File.Exists(logPath))
        {
            throw KeepForResume();
        }
        catch (InvalidOperationException e) when (output.Resumed && e.Message.Contains(logPath, StringComparison.Ordinal))
        {
            var reason = ModelPipeline.OneLine(e.Message);
            throw new UsageException(
                $"--output {output.Target} holds the trial log of another sweep, which this command cannot resume ({reason.Split(". ")[0]}); run the command that started it to resume it, or pass a new --output.");
        }
        catch (ArgumentException e) when (e.ParamName == nameof(NormalizerSweepSettings.TimeBudget))
        {
            throw new UsageException(SweepMessage(e.Message, sweep));
        }
        catch (TimeoutException e)
        {
            throw new UsageException(SweepMessage(e.Message, sweep));
        }
        catch (ArgumentException e)
        {
            throw new UsageException(SweepMessage(e.Message, sweep));
        }
        using (result)
        {
            var model = ModelPipeline.Assemble(ml, prepared, result.BestModel);
            SaveModel(ml, model, output.PathOf("model.zip"));
            WriteOnnx(model, output.PathOf(OnnxModelName));
            var evaluation = ModelPipeline.Evaluate(ml, model, prepared.Validation, settings.Alphas);
            ConsumptionProject.Write(output.Staging, evaluation.Classes);
            ConsumptionProject.WriteOnnx(output.Staging, ModelPipeline.ClassifierOf(model).Shape, evaluation.Classes);
            var best = result.BestTrial;
            var bestOptions = experiment.TrialOptions(best.Options);
            bestOptions.InferenceAlpha = best.BestAlpha;
            TrainingProject.Write(output.Staging, ModelPipeline.Recipe("sweep", data, classNames, settings, bestOptions));
            var record = TrainingRecord.For("sweep", ml, data, classNames, settings, best.BestAlphaMicroAccuracy, output.Target);
            record.Write(output.Staging);
            var report = new ReportData
            {
                Command = "sweep",
                Epochs = [.. best.History.Select(e => new EpochPoint(e.Epoch, e.TrainingLoss, e.TrainingAccuracy, e.ValidationLogLoss, e.ValidationMicroAccuracy))],
                Facts =
                [
                    new("dataset", data.Description),
                    new("architecture", settings.Architecture.ToString()),
                    new("strategy", sweep.Strategy.ToString()),
                    new("time budget", sweep.BudgetText ?? "none"),
                    new("trials finished", $"{result.Trials.Count} of {result.CandidateCount} candidates{(result.BudgetExhausted ? " (budget exhausted)" : "")}"),
                    new("sweep time", $"{result.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s"),
                    new("best trial", $"{Describe(best.Options)} at inference alpha {best.BestAlpha.ToString(CultureInfo.InvariantCulture)}"),
                ],
                Leaderboard = [.. result.Trials
                    .OrderByDescending(t => t.BestAlphaMicroAccuracy).ThenBy(t => t.Index)
                    .Select((t, rank) => new TrialRow(rank + 1, $"#{t.Index + 1} {Describe(t.Options)}", t.Options.Normalizer, t.BestAlphaMicroAccuracy, t.BestAlphaLogLoss,
                                                      t.EpochsTrained, t.Duration.TotalSeconds, curves.TryGetValue(t.Index, out var c) ? c : []))],
            };
            ReportBuilder.AddEvaluation(report, evaluation);
            ReportRenderer.Write(report, output.Staging);
            if (cancellation.IsCancellationRequested) throw KeepForResume();
            output.Commit();
            // The sweep's working state (checkpoints, its copy of the best model) is not part of the output; the log is.
            // Deleted only once the output is in place: a kill while it is moved there leaves the best model for the rerun.
            var state = output.ResumePath(TrialStateName);
            if (Directory.Exists(state)) Directory.Delete(state, recursive: true);
            var kinds = result.Trials.Select(t => t.Options.Kind).Distinct().Count();
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"best: {Describe(best.Options)}, validation accuracy {best.BestAlphaMicroAccuracy:P2} at inference alpha {best.BestAlpha} on {record.DescribeSplit()} " +
                $"({result.Trials.Count} trials of {kinds} normalizer kinds, {result.Elapsed.TotalSeconds:F1} s)"));
            context.Output.WriteLine($"wrote {output.Target}: model.zip, {OnnxModelName}, {TrainingRecord.FileName}, {ConsumptionProject.Projects}, {TrainingProject.FolderName}/{TrainingProject.ProjectName}.csproj, report.html, report-data.json, {TrialLogName}");
            context.Output.WriteLine($"to score the held-out images again: {record.Evaluate}");
        }
        return Success;
    }

    private static string Summary(SweepTrial trial) => string.Create(CultureInfo.InvariantCulture,
        $"trial {trial.Index + 1} {Describe(trial.Options)}: accuracy {trial.BestAlphaMicroAccuracy:P2} at alpha {trial.BestAlpha}, {trial.EpochsTrained} epochs{(trial.StoppedEarly ? " (stopped early)" : "")}");

    private static string Describe(SweepTrialOptions options) =>
        string.Create(CultureInfo.InvariantCulture, $"{options.Normalizer} lr {options.LearningRate}");

    /// <summary>The sweep's message in the command line's terms: --time for the budget.</summary>
    private static string SweepMessage(string message, SweepSettings sweep)
    {
        var text = ModelPipeline.OneLine(message);
        return text.Contains("TimeBudget", StringComparison.Ordinal)
            ? $"--time {sweep.BudgetText}: " + text.Replace($"NormalizerSweepSettings.TimeBudget: {sweep.Budget} ", "", StringComparison.Ordinal)
                                                  .Replace("NormalizerSweepSettings.TimeBudget", "--time", StringComparison.Ordinal)
                                                  .Replace("or null for no limit", "or leave --time out for no limit", StringComparison.Ordinal)
                                                  .Replace(" (run again with the same settings and LogPath to continue the trial from its checkpoint)", "", StringComparison.Ordinal)
            : text;
    }
}
