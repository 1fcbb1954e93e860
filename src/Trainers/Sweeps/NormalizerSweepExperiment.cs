using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLNetNormalization.Training;

namespace MLNetNormalization.Sweeps;

/// <summary>
/// A normalizer sweep made by <c>ml.MulticlassClassification.CreateNormalizerSweep(settings)</c>: its candidates are fixed
/// when it is created (<see cref="Candidates"/>), and <see cref="Execute"/> trains them with ML.NET's
/// <c>ImageClassifierWithNorm</c>, tunes each trained model's inference alpha on the validation data, logs each finished
/// trial, and returns every trial with the best model.
/// </summary>
/// <remarks>
/// The best model is kept, not retrained: whenever a trial becomes the best, its model (at its best alpha) is saved with
/// ML.NET's model format to "&lt;log stem&gt;.trials/trial-NNNN/model.zip" (a temporary file renamed into place) before the
/// trial's log line is written, and the previous best's file is deleted after it; a resumed sweep whose best trial is in the
/// log loads that file. Unfinished trials keep the engine's checkpoint (each epoch's end) in their trial folder, so a
/// killed sweep's running trial continues where its last epoch ended, with the weights an uninterrupted run would have had.
/// </remarks>
public sealed class NormalizerSweepExperiment
{
    private const string ModelFileName = "model.zip";

    private readonly MulticlassClassificationCatalog _catalog;
    private readonly IHostEnvironment _environment;
    private readonly NormalizerSweepSettings _settings;

    internal NormalizerSweepExperiment(MulticlassClassificationCatalog catalog, NormalizerSweepSettings settings)
    {
        _catalog = catalog;
        _environment = catalog.Trainers.GetEnvironment();
        _settings = settings.Clone();
        // Drawn now, as ML.NET's trainers draw from their host: the same context seed gives the same sweep.
        Seed = _settings.Seed ?? _environment.Register("NormalizerSweep").Rand.Next();
        Candidates = _settings.Validate(Seed);
    }

    /// <summary>A copy of the settings the experiment runs with.</summary>
    public NormalizerSweepSettings Settings => _settings.Clone();

    /// <summary>The seed of the draws and of every trial's training: the settings' Seed, or the one drawn from the MLContext.</summary>
    public int Seed { get; }

    /// <summary>
    /// The trials the strategy picked, in the order they run (a trial's <see cref="SweepTrial.Index"/> is its place here):
    /// the whole grid for Grid, MaxTrials distinct grid points in seeded order (the normalizer kinds in turn) for Random and SuccessiveHalving.
    /// </summary>
    public IReadOnlyList<SweepTrialOptions> Candidates { get; }

    /// <summary>
    /// Runs the sweep on <paramref name="trainData"/>, validating every epoch, the trial ranking and the alpha tuning on
    /// <paramref name="validationData"/> (both prepared as for <c>ImageClassifierWithNorm</c>: a key label column and
    /// image features). With a log (<see cref="NormalizerSweepSettings.LogPath"/>), trials it already holds are not trained again.
    /// </summary>
    /// <param name="progressHandler">Told of each trial's start, the engine's progress, and each finished trial; called synchronously on this thread. Default none.</param>
    /// <param name="cancellation">Stops the sweep at the next training step with <see cref="OperationCanceledException"/>; finished trials stay in the log. Default none.</param>
    /// <exception cref="ArgumentException">A column or option is invalid for these data, or a candidate's normalizer cannot take the architecture's channels (checked before any training).</exception>
    /// <exception cref="ArgumentOutOfRangeException">The time budget is shorter than one epoch (found at the first progress report, before the first trial ends).</exception>
    /// <exception cref="InvalidOperationException">The log was written by a sweep with other settings, or is damaged, or the best trial's model file is missing.</exception>
    /// <exception cref="TimeoutException">The time budget ran out before any trial finished.</exception>
    public NormalizerSweepResult Execute(IDataView trainData, IDataView validationData, IProgress<NormalizerSweepProgress>? progressHandler = null,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(trainData);
        ArgumentNullException.ThrowIfNull(validationData);
        var clock = Stopwatch.StartNew();
        CheckCandidates(trainData.Schema, validationData.Schema);
        var trainRows = CountRows(trainData);
        var validationRows = CountRows(validationData);
        if (validationRows == 0)
            throw new ArgumentException("NormalizerSweepExperiment.Execute: validationData has no rows; trials are ranked and tuned on it, so give it held-out images (ml.Data.TrainTestSplit).", nameof(validationData));

        // Read (and decoded) once, when the first trial trains, for every trial: they differ only in what they train.
        var images = new Lazy<ImageClassificationEstimator.FitData>(() =>
        {
            var reader = TrialOptions(Candidates[0]);
            reader.ValidationSet = validationData;
            return _catalog.Trainers.ImageClassifierWithNorm(reader).ReadForFits(trainData);
        });
        var run = new Run(this, trainData, validationData, images, progressHandler, cancellation, clock);
        try
        {
            run.Open(Fingerprint(trainRows, validationRows));
            if (_settings.Strategy == SweepStrategy.SuccessiveHalving) run.Halving();
            else run.EveryCandidate();
            return run.Result();
        }
        finally
        {
            run.Close();
            if (images.IsValueCreated) images.Value.Dispose();
        }
    }

    // Every distinct normalizer with the base options, against both schemas: a normalizer that cannot take a layer's
    // channels, a missing column or an invalid base option fails now rather than after some trials.
    private void CheckCandidates(DataViewSchema train, DataViewSchema validation)
    {
        foreach (var candidate in Candidates.DistinctBy(c => c.Normalizer))
        {
            var options = TrialOptions(candidate);
            var estimator = _catalog.Trainers.ImageClassifierWithNorm(options);
            try
            {
                estimator.CheckBeforeFit(train);
            }
            catch (ArgumentException e) when (e is not ArgumentOutOfRangeException && e.ParamName == nameof(ImageClassifierWithNormOptions.NormalizerSpecification))
            {
                throw new ArgumentException(
                    $"NormalizerSweepSettings.SearchSpace: the candidate normalizer \"{candidate.Normalizer}\" cannot be trained with {options.Architecture}: {e.Message} " +
                    "Restrict SearchSpace (Groups, Normalizers, HeterologousPairs) to values that fit.", nameof(NormalizerSweepSettings.SearchSpace), e);
            }
            estimator.CheckBeforeFit(validation);
        }
    }

    /// <summary>The classifier options a trial of <paramref name="candidate"/> trains with (mlnorm writes them into the training code of the best).</summary>
    internal ImageClassifierWithNormOptions TrialOptions(SweepTrialOptions candidate)
    {
        var options = _settings.BaseOptions.Clone();
        options.NormalizerSpecification = candidate.Normalizer;
        options.LearningRate = candidate.LearningRate;
        options.WeightDecay = candidate.WeightDecay;
        options.NormWeightDecay = candidate.NormWeightDecay;
        options.Epochs = candidate.Epochs;
        options.Seed = _settings.BaseOptions.Seed ?? Seed;
        return options;
    }

    // What a log's settings must equal for the sweep to resume it: everything that decides which trials run and what they compute.
    private JsonObject Fingerprint(long trainRows, long validationRows)
    {
        var b = _settings.BaseOptions;
        var baseOptions = new JsonObject
        {
            [nameof(b.Architecture)] = b.Architecture.ToString(), [nameof(b.NormalizerPlacement)] = b.NormalizerPlacement.ToString(),
            [nameof(b.BatchSize)] = b.BatchSize, [nameof(b.Schedule)] = b.Schedule.ToString(), [nameof(b.WarmupEpochs)] = b.WarmupEpochs,
            [nameof(b.Momentum)] = b.Momentum, [nameof(b.GateWeightDecay)] = b.GateWeightDecay, [nameof(b.LabelSmoothing)] = b.LabelSmoothing,
            [nameof(b.CropPadding)] = b.CropPadding, [nameof(b.HorizontalFlip)] = b.HorizontalFlip, [nameof(b.LabelColumnName)] = b.LabelColumnName,
            [nameof(b.FeatureColumnName)] = b.FeatureColumnName, [nameof(b.ImageChannels)] = b.ImageChannels, [nameof(b.ImageHeight)] = b.ImageHeight,
            [nameof(b.ImageWidth)] = b.ImageWidth, [nameof(b.Seed)] = b.Seed,
        };
        // Only when set, so that the logs of sweeps on built-in architectures keep their fingerprint.
        if (b.Backbone is { } backbone) baseOptions[nameof(b.Backbone)] = backbone;
        var settings = new JsonObject
        {
            ["strategy"] = _settings.Strategy.ToString(),
            ["seed"] = Seed,
            ["candidates"] = new JsonArray([.. Candidates.Select(c => (JsonNode)JsonValue.Create(c.ToString()))]),
            ["inferenceAlphas"] = new JsonArray([.. _settings.InferenceAlphas.Select(a => (JsonNode)JsonValue.Create(a))]),
            ["baseOptions"] = baseOptions,
            ["trainRows"] = trainRows,
            ["validationRows"] = validationRows,
        };
        if (_settings.Strategy == SweepStrategy.SuccessiveHalving)
        {
            settings["eta"] = _settings.Eta;
            settings["minEpochs"] = _settings.MinEpochs;
        }
        return settings;
    }

    private static long CountRows(IDataView data)
    {
        if (data.GetRowCount() is { } count) return count;
        using var cursor = data.GetRowCursor([]);
        long rows = 0;
        while (cursor.MoveNext()) rows++;
        return rows;
    }

    /// <summary>One Execute: the log, the finished trials, the best so far, the clock and the budget.</summary>
    private sealed class Run(NormalizerSweepExperiment experiment, IDataView train, IDataView validation, Lazy<ImageClassificationEstimator.FitData> images,
        IProgress<NormalizerSweepProgress>? progress, CancellationToken cancellation, Stopwatch clock)
    {
        private readonly NormalizerSweepSettings _settings = experiment._settings;
        private readonly SortedDictionary<int, SweepTrial> _finished = [];
        private SweepLog? _log;
        private string? _trialsFolder;
        private bool _temporaryFolder;
        private int _resumed;
        private bool _budgetExhausted;
        private TimeSpan? _epochTime;
        private bool _epochEstimated;
        private SweepTrial? _best;
        private ImageClassificationTransformer? _bestModel;   // of _best, when _best was trained in this Execute
        private readonly Dictionary<int, (ImageClassificationTransformer Model, TrainingResult Training, TimeSpan Duration)> _paused = [];

        private IReadOnlyList<SweepTrialOptions> Candidates => experiment.Candidates;

        public void Open(JsonObject fingerprint)
        {
            if (_settings.LogPath is { } path)
            {
                var (log, trials, created) = SweepLog.Open(path, fingerprint);
                _log = log;
                var full = Path.GetFullPath(path);
                _trialsFolder = Path.Combine(Path.GetDirectoryName(full)!, Path.GetFileNameWithoutExtension(full) + ".trials");
                // A new log starts a new sweep: checkpoints left by an earlier one under this name would be refused or, worse, resumed.
                if (created && Directory.Exists(_trialsFolder)) Directory.Delete(_trialsFolder, recursive: true);
                foreach (var trial in trials)
                {
                    if (trial.Index < 0 || trial.Index >= Candidates.Count || trial.Options != Candidates[trial.Index] || _finished.ContainsKey(trial.Index))
                        throw new InvalidOperationException(
                            $"The sweep log {log.Path} holds trial {trial.Index} ({trial.Options}), which is not candidate {trial.Index} of these settings or is there twice; the log is damaged. Delete it and its .trials folder to start again.");
                    _finished[trial.Index] = trial;
                    if (IsBetter(trial, _best)) _best = trial;
                    _resumed++;
                    progress?.Report(new(NormalizerSweepProgressKind.TrialResumedFromLog, trial.Index, trial.Options, null, trial));
                }
            }
            else if (_settings.Strategy == SweepStrategy.SuccessiveHalving)
            {
                // Halving pauses trials at each rung and continues them from their checkpoints: they need a workspace even without a log.
                _trialsFolder = Directory.CreateTempSubdirectory("mlnet-sweep-").FullName;
                _temporaryFolder = true;
            }
        }

        /// <summary>Grid and Random: every candidate not yet finished, in order, to its planned epochs.</summary>
        public void EveryCandidate()
        {
            for (var index = 0; index < Candidates.Count; index++)
            {
                if (_finished.ContainsKey(index)) continue;
                if (Train(index, pauseAt: null) is not { } trained) return;
                Finish(index, trained.Model, trained.Training, trained.Duration, stoppedEarly: false);
            }
        }

        /// <summary>
        /// Successive halving: every candidate to the first rung's epochs; the best ceil(n / Eta) by validation MicroAccuracy
        /// so far (the best epoch's, which is the model a trial gives) continue to the next rung, the others are stopped
        /// early and finished; ties go to the lower index. The last rung is the full epochs. When the time budget ends the
        /// sweep, the trials paused at a rung are finished there, stopped early.
        /// </summary>
        public void Halving()
        {
            var full = Candidates[0].Epochs;
            var rungs = NormalizerSweepSettings.Rungs(_settings.MinEpochs, _settings.Eta, full);
            var alive = Enumerable.Range(0, Candidates.Count).ToList();
            foreach (var epochs in rungs)
            {
                var scores = new Dictionary<int, double>();
                foreach (var index in alive)
                {
                    if (_finished.TryGetValue(index, out var done))
                    {
                        scores[index] = RungScore(done.History.Select(h => h.ValidationMicroAccuracy), epochs);
                        continue;
                    }
                    var last = epochs == full;
                    if (Train(index, last ? null : epochs) is not { } trained)
                    {
                        FinishPaused();
                        return;
                    }
                    scores[index] = RungScore(trained.Training.History.Select(h => h.ValidationAccuracy), epochs);
                    // The model it was paused with at the rung before: this one carries on from it.
                    if (_paused.Remove(index, out var earlier)) earlier.Model.Dispose();
                    if (last)
                    {
                        Finish(index, trained.Model, trained.Training, trained.Duration, stoppedEarly: false);
                    }
                    else
                    {
                        _paused[index] = trained;
                        progress?.Report(new(NormalizerSweepProgressKind.TrialPaused, index, Candidates[index], null, null));
                    }
                }
                if (epochs == full) return;
                var keep = HalvingCut(scores, _settings.Eta);
                foreach (var index in alive.Where(i => !keep.Contains(i)))
                    if (_paused.Remove(index, out var stopped))
                        Finish(index, stopped.Model, stopped.Training, stopped.Duration, stoppedEarly: true);
                alive = [.. alive.Where(keep.Contains)];
            }
        }

        // The time budget ended the sweep: every trial paused at a rung finishes there, stopped early, in index order.
        private void FinishPaused()
        {
            foreach (var index in _paused.Keys.Order().ToList())
                if (_paused.Remove(index, out var paused))
                    Finish(index, paused.Model, paused.Training, paused.Duration, stoppedEarly: true);
        }

        public NormalizerSweepResult Result()
        {
            if (_best is null)
                throw new TimeoutException(
                    $"NormalizerSweepSettings.TimeBudget: {_settings.TimeBudget} ran out before any trial finished{(_epochTime is { } e ? $" (an epoch took {e.TotalSeconds:F1} s)" : "")}; " +
                    "give a budget of at least one trial's epochs (run again with the same settings and LogPath to continue the trial from its checkpoint), fewer epochs, or less data.");
            var model = _bestModel;
            if (model is null)
            {
                // The best trial was finished by an earlier Execute: its model is the file it left beside the log.
                var file = ModelPath(_best.Index);
                if (!File.Exists(file))
                    throw new InvalidOperationException(
                        $"The sweep log's best trial {_best.Index} ({_best.Options}) has no model file {file}; it was deleted or moved. Delete the log and its .trials folder to run the sweep again.");
                var loaded = new ModelOperationsCatalog(experiment._environment).Load(file, out _);
                model = loaded as ImageClassificationTransformer
                    ?? (loaded as IEnumerable<ITransformer>)?.OfType<ImageClassificationTransformer>().SingleOrDefault()
                    ?? throw new InvalidOperationException($"{file} holds no ImageClassifierWithNorm model; delete the log and its .trials folder to run the sweep again.");
            }
            _bestModel = null;   // now the result's
            return new NormalizerSweepResult([.. _finished.Values], _best, model, Candidates.Count, _resumed, _budgetExhausted, clock.Elapsed);
        }

        public void Close()
        {
            foreach (var paused in _paused.Values) paused.Model.Dispose();
            _paused.Clear();
            _bestModel?.Dispose();
            if (_temporaryFolder && _trialsFolder is not null && Directory.Exists(_trialsFolder)) Directory.Delete(_trialsFolder, recursive: true);
        }

        // Trains candidate index (to pauseAt epochs of its planned ones, or all); null when the time budget ended it.
        private (ImageClassificationTransformer Model, TrainingResult Training, TimeSpan Duration)? Train(int index, int? pauseAt)
        {
            cancellation.ThrowIfCancellationRequested();
            TimeSpan? remaining = _settings.TimeBudget is { } budget ? budget - clock.Elapsed : null;
            // Before the first estimate of an epoch's time the first trial always starts, so that a budget too short for an
            // epoch is reported as such rather than as a sweep that finished nothing.
            if (_epochEstimated && remaining is { } left && (left <= TimeSpan.Zero || _epochTime is { } epoch && left < epoch))
            {
                _budgetExhausted = true;
                return null;
            }
            var candidate = Candidates[index];
            progress?.Report(new(NormalizerSweepProgressKind.TrialStarted, index, candidate, null, null));
            var options = experiment.TrialOptions(candidate);
            options.ValidationSet = validation;
            options.PauseAtEpoch = pauseAt;
            if (_trialsFolder is not null) options.WorkspacePath = TrialFolder(index);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            void StopAtDeadline()
            {
                if (_settings.TimeBudget is { } limit) stop.CancelAfter(TimeSpan.FromTicks(Math.Max(1, (limit - clock.Elapsed).Ticks)));
            }
            if (_epochEstimated) StopAtDeadline();
            options.CancellationToken = stop.Token;
            TimeSpan? tooSlow = null;
            var watch = Stopwatch.StartNew();
            var epochsNow = 0;
            options.MetricsCallback = p =>
            {
                progress?.Report(new(NormalizerSweepProgressKind.Training, index, candidate, p, null));
                if (p.Phase == TrainingPhase.EpochEnd)
                {
                    epochsNow++;
                    _epochTime = watch.Elapsed / epochsNow;
                }
                else if (!_epochEstimated && p.ImagesPerSecond > 0)
                {
                    // The first report of this Execute: an epoch's time, estimated from the speed so far.
                    _epochEstimated = true;
                    var estimate = TimeSpan.FromSeconds((double)p.StepsPerEpoch * options.BatchSize / p.ImagesPerSecond);
                    if (_settings.TimeBudget is { } limit && estimate > limit)
                    {
                        tooSlow = estimate;
                        stop.Cancel();
                    }
                    else
                    {
                        StopAtDeadline();
                    }
                }
            };
            try
            {
                var (model, training) = experiment._catalog.Trainers.ImageClassifierWithNorm(options).FitWithTrainingResult(train, images.Value);
                return (model, training, watch.Elapsed);
            }
            catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
            {
                if (tooSlow is { } slow)
                    throw new ArgumentOutOfRangeException(nameof(NormalizerSweepSettings.TimeBudget),
                        $"NormalizerSweepSettings.TimeBudget: {_settings.TimeBudget} is shorter than one epoch, which takes about {slow.TotalSeconds:F0} s here " +
                        $"({Candidates[index].Normalizer}, {options.Architecture}, batch {options.BatchSize}); give a budget of at least one trial's epochs " +
                        "(each about that long) plus the alpha tuning, or less training data, or null for no limit.");
                _budgetExhausted = true;
                return null;
            }
        }

        // Tunes the alpha, records and logs the trial, keeps its model when it is the best so far, and frees it otherwise.
        private void Finish(int index, ImageClassificationTransformer model, TrainingResult training, TimeSpan duration, bool stoppedEarly)
        {
            try
            {
                var watch = Stopwatch.StartNew();
                var curve = experiment._catalog.TuneInferenceAlpha(model, validation, _settings.InferenceAlphas)
                    .Select(p => new AlphaPoint(p.Alpha, p.Metrics.MicroAccuracy, p.Metrics.LogLoss)).ToList();
                // Stable: among equals, the lower log loss, then the first listed.
                var best = curve.OrderByDescending(p => p.MicroAccuracy).ThenBy(p => p.LogLoss).First();
                var history = training.History
                    .Select(h => new SweepEpoch(h.Epoch, h.TrainingLoss, h.TrainingAccuracy, h.ValidationLogLoss, h.ValidationAccuracy, h.LearningRate)).ToList();
                var final = training.FinalValidation!;
                var trial = new SweepTrial(index, Candidates[index], history, final.MicroAccuracy, final.LogLoss, curve, best.Alpha, best.MicroAccuracy,
                    best.LogLoss, duration + watch.Elapsed, stoppedEarly);

                var previous = _best;
                if (IsBetter(trial, _best))
                {
                    var bestModel = model.WithInferenceAlpha(best.Alpha);
                    if (_log is not null) SaveModel(bestModel, ModelPath(index));
                    _bestModel?.Dispose();
                    _bestModel = bestModel;
                    _best = trial;
                }
                _log?.Append(trial);
                _finished[index] = trial;
                if (_trialsFolder is not null && Directory.Exists(TrialFolder(index)))
                {
                    // After the log line: until then, the previous best's file is the one a resume would load.
                    if (_best == trial && previous is not null && Directory.Exists(TrialFolder(previous.Index))) Directory.Delete(TrialFolder(previous.Index), recursive: true);
                    if (_best != trial) Directory.Delete(TrialFolder(index), recursive: true);
                    else
                        foreach (var file in Directory.EnumerateFiles(TrialFolder(index)).Where(f => Path.GetFileName(f) != ModelFileName))
                            File.Delete(file);
                }
                progress?.Report(new(NormalizerSweepProgressKind.TrialFinished, index, trial.Options, null, trial));
            }
            finally
            {
                model.Dispose();
            }
        }

        private void SaveModel(ImageClassificationTransformer model, string path)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var temporary = path + ".tmp";
            new ModelOperationsCatalog(experiment._environment).Save(model, train.Schema, temporary);
            File.Move(temporary, path, overwrite: true);
        }

        private string TrialFolder(int index) => Path.Combine(_trialsFolder!, string.Create(CultureInfo.InvariantCulture, $"trial-{index:D4}"));

        private string ModelPath(int index) => Path.Combine(TrialFolder(index), ModelFileName);
    }

    /// <summary>A trial's halving score at a rung of <paramref name="epochs"/>: its best validation MicroAccuracy over those epochs.</summary>
    internal static double RungScore(IEnumerable<double?> validationAccuracies, int epochs) =>
        validationAccuracies.Take(epochs).Max(a => a ?? double.NegativeInfinity);

    /// <summary>The trials that continue after a rung: the best ceil(n / eta) by score, ties to the lower index.</summary>
    internal static HashSet<int> HalvingCut(IReadOnlyDictionary<int, double> scores, int eta)
    {
        var keep = (scores.Count + eta - 1) / eta;
        return [.. scores.OrderByDescending(s => s.Value).ThenBy(s => s.Key).Take(keep).Select(s => s.Key)];
    }

    private static bool IsBetter(SweepTrial trial, SweepTrial? best) =>
        best is null || trial.BestAlphaMicroAccuracy > best.BestAlphaMicroAccuracy
                     || trial.BestAlphaMicroAccuracy == best.BestAlphaMicroAccuracy && trial.Index < best.Index;
}
