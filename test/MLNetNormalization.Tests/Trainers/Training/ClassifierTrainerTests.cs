using MLNetNormalization.Tests.Support;
using MLNetNormalization.Training;
using static MLNetNormalization.Tests.Trainers.Training.TrainerRuns;

namespace MLNetNormalization.Tests.Trainers.Training;

/// <summary>
/// ClassifierTrainer end to end on the synthetic stripes task with a tiny network: determinism, learning,
/// progress reports, early stopping, best-model keeping, divergence and data checks. Training seeds and
/// draws from the global generator (dropout), hence the collection.
/// </summary>
[Collection(TestCollections.GlobalRandom)]
public sealed class ClassifierTrainerTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    private static TrainingResult Run(TinyNet model, TrainingOptions options, bool validate = true, Action<TrainingProgress>? progress = null) =>
        new ClassifierTrainer(options).Train(model, Train, validate ? Validation : null, progress);

    [Fact]
    public void TheSameSeedGivesBitIdenticalWeightsAndAnotherSeedDoesNot()
    {
        var options = Options() with { Epochs = 2 };
        using var first = TinyNet.Create(initSeed: 1);
        using var second = TinyNet.Create(initSeed: 1);
        using var reseeded = TinyNet.Create(initSeed: 1);
        var firstResult = Run(first, options);
        var secondResult = Run(second, options);
        Run(reseeded, options with { Seed = options.Seed + 1 });

        States.AssertEqual(States.Of(first), States.Of(second), "two runs with the same seed");
        Assert.Equal(firstResult.History, secondResult.History);
        States.AssertDifferent(States.Of(first), States.Of(reseeded), "runs with seeds 3 and 4");
    }

    [Fact]
    public void LabelSmoothingChangesTheLossTrainedOn()
    {
        var options = Options() with { Epochs = 1 };
        using var plain = TinyNet.Create(initSeed: 1);
        using var smoothed = TinyNet.Create(initSeed: 1);
        var plainResult = Run(plain, options, validate: false);
        var smoothedResult = Run(smoothed, options with { LabelSmoothing = 0.5 }, validate: false);

        // Same data, order and initialization: only the targets of the loss differ.
        Assert.NotEqual(plainResult.History[0].TrainingLoss, smoothedResult.History[0].TrainingLoss);
        States.AssertDifferent(States.Of(plain), States.Of(smoothed), "runs with label smoothing 0 and 0.5");
    }

    [Fact]
    public void TrainingLearnsTheSyntheticTask()
    {
        using var model = TinyNet.Create();
        var options = Options() with { Epochs = 6, LearningRate = 0.1, Milestones = [4] };
        var result = Run(model, options);

        // Chance is 1/4; the stripes' orientation is easy to see through the noise and the shifts.
        Assert.NotNull(result.FinalValidation);
        Assert.True(result.FinalValidation.MicroAccuracy >= 0.8,
            $"validation accuracy {result.FinalValidation.MicroAccuracy} after 6 epochs; history: {string.Join("; ", result.History)}");
        Assert.True(result.History[^1].TrainingLoss < result.History[0].TrainingLoss, string.Join("; ", result.History));
    }

    [Fact]
    public void ValidationMetricsAreTheAccuracyAndLogLossOfTheModelsSoftmaxOverTheWholeSet()
    {
        using var model = TinyNet.Create();
        var options = Options() with { Epochs = 1 };
        var trainer = new ClassifierTrainer(options);
        var result = trainer.Train(model, Train, Validation);
        var metrics = trainer.Evaluate(model, Validation);

        // Oracle: one eval-mode forward pass over all 32 images (the engine goes in batches of 8), then the softmax,
        // the argmax and the mean -ln p(true class) by hand in double.
        var all = new BatchAssembler(Validation, Validation.Count, options.PixelMean, options.PixelStd).InOrder().Single();
        var shape = Validation.Shape;
        float[] logits;
        model.eval();
        using (no_grad())
        using (var images = tensor(all.Images, [all.Count, shape.Channels, shape.Height, shape.Width]))
        using (var output = model.call(images))
            logits = output.data<float>().ToArray();
        model.train();
        var classes = SyntheticImages.ClassNames.Length;
        double correct = 0, logLossSum = 0;
        for (var i = 0; i < all.Count; i++)
        {
            var row = logits.AsSpan(i * classes, classes).ToArray().Select(v => (double)v).ToArray();
            var exps = row.Select(v => Math.Exp(v - row.Max())).ToArray();
            var probabilities = exps.Select(e => e / exps.Sum()).ToArray();
            if (Array.IndexOf(probabilities, probabilities.Max()) == all.Labels[i]) correct++;
            logLossSum -= Math.Log(probabilities[all.Labels[i]]);
        }

        Assert.Equal(32, metrics.Count);
        Assert.Equal(correct / 32, metrics.MicroAccuracy);
        // The engine's softmax is in float32, and float32 batches of 8 and of 32 may round differently: 1e-6 covers both.
        Assert.Equal(logLossSum / 32, metrics.LogLoss, 1e-6);
        // The run's final validation is the same evaluation of the same (restored, single-epoch) weights.
        Assert.Equal(metrics, result.FinalValidation);
    }

    [Fact]
    public void ProgressIsReportedEveryProgressEveryStepsAndAtEachEpochEnd()
    {
        var reports = new List<TrainingProgress>();
        using var model = TinyNet.Create();
        var result = Run(model, Options() with { ProgressEverySteps = 3 }, progress: reports.Add);

        // Steps 3 and 6 of the 8 of each epoch, then its last step, then its end.
        var expected = new List<(TrainingPhase, int Epoch, int Step)>();
        for (var epoch = 1; epoch <= 3; epoch++)
            expected.AddRange([(TrainingPhase.Step, epoch, 3), (TrainingPhase.Step, epoch, 6), (TrainingPhase.Step, epoch, 8), (TrainingPhase.EpochEnd, epoch, 8)]);
        Assert.Equal(expected, reports.Select(r => (r.Phase, r.Epoch, r.Step)));
        Assert.All(reports, r => Assert.Equal((3, StepsPerEpoch), (r.Epochs, r.StepsPerEpoch)));

        // The rate of each epoch's steps: 0.05, then halved at the milestones after epochs 1 and 2.
        double[] rates = [0.05, 0.025, 0.0125];
        Assert.All(reports, r => Assert.Equal(rates[r.Epoch - 1], r.LearningRate, 15));

        var ends = reports.Where(r => r.Phase == TrainingPhase.EpochEnd).ToList();
        Assert.All(reports.Where(r => r.Phase == TrainingPhase.Step), r => Assert.Null(r.Validation));
        for (var e = 0; e < 3; e++)
        {
            Assert.NotNull(ends[e].Validation);
            Assert.Equal(result.History[e].ValidationAccuracy, ends[e].Validation!.MicroAccuracy);
            Assert.Equal(result.History[e].TrainingLoss, ends[e].Loss);
            // The epoch's last step report already holds the whole epoch's running means.
            Assert.Equal(ends[e].Loss, reports[4 * e + 2].Loss);
        }

        // Without validation data, epoch ends carry no validation metrics.
        reports.Clear();
        using var unvalidated = TinyNet.Create();
        Run(unvalidated, Options() with { Epochs = 1, ProgressEverySteps = 100 }, validate: false, progress: reports.Add);
        Assert.Equal(new[] { (TrainingPhase.Step, 1, 8), (TrainingPhase.EpochEnd, 1, 8) }, reports.Select(r => (r.Phase, r.Epoch, r.Step)));
        Assert.Null(reports[1].Validation);
    }

    [Fact]
    public void EarlyStoppingStopsWhenNothingImprovesEnough()
    {
        // Accuracy cannot improve by 1: epoch 1 sets the best, epoch 2 fails to beat it by MinDelta, and patience 1 stops there.
        var options = Options(temp.Path) with { Epochs = 5, EarlyStopping = new() { Patience = 1, MinDelta = 1 } };
        var ends = 0;
        using var model = TinyNet.Create();
        var result = Run(model, options, progress: p => ends += p.Phase == TrainingPhase.EpochEnd ? 1 : 0);
        Assert.True(result.StoppedEarly);
        Assert.Equal([1, 2], result.History.Select(h => h.Epoch));
        Assert.Equal(2, ends);
        Assert.Equal(1, result.BestEpoch);

        // The checkpoint remembers the stop: running again in the workspace trains no further.
        var weights = States.Of(model);
        var again = Run(model, options, progress: p => Assert.Fail($"a stopped run trained again: {p}"));
        Assert.True(again.StoppedEarly);
        Assert.Equal(result.History, again.History);
        States.AssertEqual(weights, States.Of(model), "the model after re-running a stopped run");
    }

    [Fact]
    public void RestoreBestModelPutsBackTheBestEpochsWeights()
    {
        // MinDelta 1 makes epoch 1 the best whatever happens later; the patience of 3 lets all 3 epochs run.
        // A constant rate makes epoch 1 of this run the same as a 1-epoch run: the independent record of its weights.
        var options = Options(temp.File("restore")) with
        {
            Schedule = LearningRateScheduleKind.Constant, EarlyStopping = new() { Patience = 3, MinDelta = 1 },
        };
        using var model = TinyNet.Create();
        var result = Run(model, options);
        Assert.False(result.StoppedEarly);
        Assert.Equal(3, result.History.Count);
        Assert.Equal(1, result.BestEpoch);

        using var oneEpoch = TinyNet.Create();
        Run(oneEpoch, options with { Epochs = 1, WorkspacePath = null }, validate: false);
        var epochOne = States.Of(oneEpoch);
        States.AssertEqual(epochOne, States.Of(model), "the restored model vs. a 1-epoch run");
        States.AssertEqual(epochOne, States.OfModelFile(Path.Combine(temp.File("restore"), ClassifierTrainer.BestModelFileName), model), "best.mlnt vs. a 1-epoch run");
        Assert.Equal(result.History[0].ValidationAccuracy, result.FinalValidation!.MicroAccuracy);

        // Without restoring, the model keeps epoch 3's weights: those of the final checkpoint.
        using var last = TinyNet.Create();
        Run(last, options with { RestoreBestModel = false, WorkspacePath = temp.File("last") });
        var epochThree = States.OfFile(Path.Combine(temp.File("last"), ClassifierTrainer.CheckpointFileName), "model.");
        States.AssertEqual(epochThree, States.Of(last), "the unrestored model vs. its last checkpoint");
        States.AssertDifferent(epochOne, epochThree, "epoch 1's and epoch 3's weights");
    }

    [Theory]
    [InlineData(ValidationMetric.MicroAccuracy)]
    [InlineData(ValidationMetric.LogLoss)]
    public void TheBestEpochIsTheFirstWithTheBestValidationMetric(ValidationMetric metric)
    {
        var workspace = temp.File(metric.ToString());
        using var model = TinyNet.Create();
        var result = Run(model, Options(workspace) with { Epochs = 4, Milestones = [3], ValidationMetric = metric });

        // Higher accuracy or lower log loss is better; a tie keeps the earlier epoch.
        var scores = result.History.Select(h => metric == ValidationMetric.MicroAccuracy ? h.ValidationAccuracy!.Value : -h.ValidationLogLoss!.Value).ToList();
        var best = scores.IndexOf(scores.Max()) + 1;
        Assert.Equal(best, result.BestEpoch);
        States.AssertEqual(States.OfModelFile(Path.Combine(workspace, ClassifierTrainer.BestModelFileName), model), States.Of(model), "the final model vs. best.mlnt");
        // The final validation of the restored model reproduces its epoch's.
        Assert.Equal(result.History[best - 1].ValidationAccuracy, result.FinalValidation!.MicroAccuracy);
        Assert.Equal(result.History[best - 1].ValidationLogLoss, result.FinalValidation.LogLoss);
    }

    [Fact]
    public void ADivergingRunNamesTheLearningRateAndLeavesTheLastCheckpointIntact()
    {
        var options = Options(temp.Path) with { LearningRate = 1e6, Schedule = LearningRateScheduleKind.Constant, CheckpointEverySteps = 1 };
        using var model = TinyNet.Create();
        var error = Assert.Throws<InvalidOperationException>(() => Run(model, options));
        Assert.Contains("LearningRate", error.Message);

        var checkpoint = Path.Combine(temp.Path, ClassifierTrainer.CheckpointFileName);
        // Written to a temporary file and renamed: no half-written debris beside it.
        Assert.Empty(Directory.GetFiles(temp.Path, "*.tmp"));
        var (position, tensors) = Checkpoint.ReadTensors(checkpoint);
        try
        {
            Assert.NotEmpty(position.Fingerprint);   // a real training position, as the run left it
            Assert.Contains("rng_state", tensors.Keys);
            using var fresh = TinyNet.Create();
            Checkpoint.CopyState(tensors.Where(t => t.Key.StartsWith("model.", StringComparison.Ordinal)).ToDictionary(t => t.Key["model.".Length..], t => t.Value), fresh);
        }
        finally
        {
            foreach (var tensor in tensors.Values) tensor.Dispose();
        }
    }

    [Fact]
    public void OptionsTheScheduleRefusesAreRefusedBeforeTheGeneratorIsSeeded()
    {
        using var model = TinyNet.Create();
        torch.manual_seed(42);
        var generator = TestData.RawBytes(random.get_rng_state());
        var options = Options() with { WarmupEpochs = 2 };   // milestone epoch 1 falls within the warm-up
        var error = Assert.Throws<ArgumentException>(() => Run(model, options));
        Assert.Contains("Milestones", error.Message);
        Assert.True(generator.AsSpan().SequenceEqual(TestData.RawBytes(random.get_rng_state())), "refusing the options reseeded the global generator");
    }

    [Fact]
    public void ValidationDataMustMatchTheTrainingData()
    {
        var trainer = new ClassifierTrainer(Options());
        using var model = TinyNet.Create();
        var colour = Assert.Throws<ArgumentException>(() => trainer.Train(model, Train, SyntheticImages.Create(8, seed: 5, channels: 3)));
        Assert.Equal("validation", colour.ParamName);
        Assert.Contains("3x12x12", colour.Message);
        var larger = Assert.Throws<ArgumentException>(() => trainer.Train(model, Train, SyntheticImages.Create(8, seed: 5, side: 16)));
        Assert.Contains("1x16x16", larger.Message);
        var renamed = Assert.Throws<ArgumentException>(() =>
            trainer.Train(model, Train, SyntheticImages.Create(8, seed: 5, classNames: ["h", "v", "d", "a"])));
        Assert.Equal("validation", renamed.ParamName);
        Assert.Contains("classes", renamed.Message);
    }
}
