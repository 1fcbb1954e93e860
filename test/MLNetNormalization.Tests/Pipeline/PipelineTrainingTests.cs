using Microsoft.ML;
using MLNetNormalization.Tests.Support;
using MLNetNormalization.Training;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>What the trainer takes from the MLContext, as ML.NET's own trainers do: the seed, the log, cancellation; and the progress reports of MetricsCallback.</summary>
[Collection(PipelineCollection.Name)]
public sealed class PipelineTrainingTests(PipelineFixture fixture)
{
    [Fact]
    public void The_same_context_seed_trains_the_same_model_and_another_seed_another()
    {
        var expected = Columns.Bits(Columns.Vectors(fixture.Scored));
        Assert.Equal(expected, Columns.Bits(ScoresOfAFreshFit(PipelineFixture.Seed)));
        Assert.NotEqual(expected, Columns.Bits(ScoresOfAFreshFit(PipelineFixture.Seed + 1)));
    }

    [Fact]
    public void The_context_log_receives_the_trainers_progress_lines()
    {
        var lines = fixture.Log.Where(e => e.Source.Contains("ImageClassifierWithNorm", StringComparison.Ordinal)).Select(e => e.Message).ToList();
        var trainPerClass = PipelineFixture.TrainPerClass * SyntheticImages.Classes.Length;
        Assert.Contains(lines, l => l.Contains($"Training LeNet with \"bn\" on {trainPerClass} images", StringComparison.Ordinal));
        // One line per progress report, the last one the end of the last epoch.
        var progress = lines.Where(l => l.Contains("epoch ", StringComparison.Ordinal)).ToList();
        Assert.Equal(fixture.Reports.Count, progress.Count);
        Assert.Contains($"epoch {PipelineFixture.Epochs}/{PipelineFixture.Epochs} finished", progress[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void A_Fit_that_resumes_the_workspaces_checkpoint_says_where_in_the_context_log()
    {
        using var workspace = new TempDirectory();
        using var cancel = new CancellationTokenSource();
        var options = CancelledAtFirstEpochEnd(workspace, cancel);
        var (_, train, _, pipeline) = PipelineFixture.Prepare(PipelineFixture.Seed, options);
        Assert.ThrowsAny<OperationCanceledException>(() => pipeline.Fit(train));

        (options.CancellationToken, options.MetricsCallback) = (CancellationToken.None, null);
        var (ml, resumedTrain, _, resumedPipeline) = PipelineFixture.Prepare(PipelineFixture.Seed, options);
        var lines = new List<string>();
        ml.Log += (_, e) => { if (e.Source.Contains("ImageClassifierWithNorm", StringComparison.Ordinal)) lock (lines) lines.Add(e.RawMessage); };
        resumedPipeline.Fit(resumedTrain).OfType<ImageClassificationTransformer>().Single().Dispose();
        Assert.Contains($"Resumed from the checkpoint in {workspace.Path} at epoch 2, batch 0.", lines);
        // A fresh Fit says nothing of the kind.
        Assert.DoesNotContain(fixture.Log, e => e.RawMessage.StartsWith("Resumed", StringComparison.Ordinal));
    }

    [Fact]
    public void An_unseeded_context_resumes_its_workspace_in_a_new_estimator_and_ends_where_the_uninterrupted_run_ends()
    {
        using var workspace = new TempDirectory();
        var options = PipelineFixture.SmallOptions();
        options.WorkspacePath = workspace.Path;
        options.PauseAtEpoch = 1;   // stopped after the first epoch, its checkpoint written
        TrainInUnseededContext(options).Dispose();

        // A new estimator in another unseeded context draws another seed; the run is the checkpoint's all the same.
        options.PauseAtEpoch = null;
        var lines = new List<string>();
        using var resumed = TrainInUnseededContext(options, lines);
        Assert.Contains($"Resumed from the checkpoint in {workspace.Path} at epoch 2, batch 0.", lines);

        // The oracle: the same run uninterrupted, with the seed the checkpoint recorded.
        var seed = Training.Checkpoint.ReadSeed(Path.Combine(workspace.Path, Training.ClassifierTrainer.CheckpointFileName));
        options.WorkspacePath = null;
        options.Seed = unchecked((int)(uint)seed!.Value);
        using var uninterrupted = TrainInUnseededContext(options);
        var test = new MLContext().Data.LoadFromEnumerable(fixture.TestRows);
        Assert.Equal(Columns.Bits(Columns.Vectors(uninterrupted.Transform(fixture.KeyMap.Transform(test)))),
                     Columns.Bits(Columns.Vectors(resumed.Transform(fixture.KeyMap.Transform(test)))));
    }

    [Fact]
    public void A_second_Fit_after_a_cancel_says_to_make_the_trainer_with_a_new_token_and_a_new_one_resumes()
    {
        using var workspace = new TempDirectory();
        using var cancel = new CancellationTokenSource();
        var options = CancelledAtFirstEpochEnd(workspace, cancel);
        var ml = new MLContext();
        var rows = ml.Data.LoadFromEnumerable(SyntheticImages.Rows(PipelineFixture.TrainPerClass, PipelineFixture.TrainSeed));
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(rows).Transform(rows);
        var trainer = ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(options);
        Assert.ThrowsAny<OperationCanceledException>(() => trainer.Fit(keyed));

        var again = Assert.ThrowsAny<OperationCanceledException>(() => trainer.Fit(keyed));
        Assert.Equal($"ImageClassifierWithNorm: the options' CancellationToken was cancelled before this Fit started. Make the trainer again with a new token " +
                     $"to resume from the checkpoint in {workspace.Path}.", again.Message);

        (options.CancellationToken, options.MetricsCallback) = (CancellationToken.None, null);
        var lines = new List<string>();
        using var resumed = TrainInUnseededContext(options, lines);
        Assert.Contains($"Resumed from the checkpoint in {workspace.Path} at epoch 2, batch 0.", lines);
    }

    [Fact]
    public void Another_run_in_the_same_workspace_is_refused_naming_what_differs_and_what_to_do()
    {
        using var workspace = new TempDirectory();
        var options = PipelineFixture.SmallOptions();
        options.WorkspacePath = workspace.Path;
        options.PauseAtEpoch = 1;
        TrainInUnseededContext(options).Dispose();

        options.LearningRate = 0.01;
        var error = Assert.ThrowsAny<InvalidOperationException>(() => TrainInUnseededContext(options));
        Assert.Contains("belongs to a different run: LearningRate (checkpoint: 0.05, now: 0.01)", error.Message);
        Assert.Contains($"give another WorkspacePath or delete {Path.Combine(workspace.Path, Training.ClassifierTrainer.CheckpointFileName)}", error.Message);
    }

    /// <summary>The fixture's small options with a workspace, cancelled by <paramref name="cancel"/> at the end of the first epoch, after its checkpoint was written.</summary>
    private static ImageClassifierWithNormOptions CancelledAtFirstEpochEnd(TempDirectory workspace, CancellationTokenSource cancel)
    {
        var options = PipelineFixture.SmallOptions();
        options.WorkspacePath = workspace.Path;
        options.CancellationToken = cancel.Token;
        options.MetricsCallback = p => { if (p.Phase == TrainingPhase.EpochEnd) cancel.Cancel(); };
        return options;
    }

    /// <summary>The fixture's data through MapValueToKey and the classifier, fitted in <c>new MLContext()</c> (no seed).</summary>
    private static ImageClassificationTransformer TrainInUnseededContext(ImageClassifierWithNormOptions options, List<string>? log = null)
    {
        var ml = new MLContext();
        if (log is not null) ml.Log += (_, e) => { if (e.Source.Contains("ImageClassifierWithNorm", StringComparison.Ordinal)) lock (log) log.Add(e.RawMessage); };
        var rows = ml.Data.LoadFromEnumerable(SyntheticImages.Rows(PipelineFixture.TrainPerClass, PipelineFixture.TrainSeed));
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(rows).Transform(rows);
        return ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(options).Fit(keyed);
    }

    [Fact]
    public void MetricsCallback_receives_a_report_after_each_epochs_last_step_and_at_each_epochs_end()
    {
        // 240 rows in batches of 16: 15 steps an epoch, fewer than the 50 between step reports, so only the last step reports.
        var steps = PipelineFixture.TrainPerClass * SyntheticImages.Classes.Length / PipelineFixture.BatchSize;
        Assert.Equal(
            [(TrainingPhase.Step, 1, steps), (TrainingPhase.EpochEnd, 1, steps), (TrainingPhase.Step, 2, steps), (TrainingPhase.EpochEnd, 2, steps)],
            fixture.Reports.Select(r => (r.Phase, r.Epoch, r.Step)));
        Assert.All(fixture.Reports, r => Assert.Equal((PipelineFixture.Epochs, steps), (r.Epochs, r.StepsPerEpoch)));
        Assert.All(fixture.Reports, r => Assert.True(double.IsFinite(r.Loss) && r.Loss > 0, $"loss {r.Loss}"));
        Assert.All(fixture.Reports, r => Assert.Null(r.Validation));
    }

    [Theory]
    [InlineData(0)]   // the first report: most of the training is still to come
    [InlineData(3)]   // the last report, at the end of the last epoch: nothing is left to do but return the model
    public void CancelExecution_called_from_the_MetricsCallback_makes_Fit_throw_OperationCanceledException(int cancelAtReport)
    {
        var options = PipelineFixture.SmallOptions();
        var reports = 0;
        MLContext? context = null;
        options.MetricsCallback = _ =>
        {
            if (reports++ == cancelAtReport) MLNetInternals.CancelExecution(context!);
        };
        var (ml, train, _, pipeline) = PipelineFixture.Prepare(5, options);
        context = ml;
        Assert.ThrowsAny<OperationCanceledException>(() => pipeline.Fit(train));
        // Stopped at once: no report after the one whose callback cancelled.
        Assert.Equal(cancelAtReport + 1, reports);
    }

    [Fact]
    public void The_options_CancellationToken_cancelled_from_the_MetricsCallback_makes_Fit_throw_OperationCanceledException()
    {
        var options = PipelineFixture.SmallOptions();
        using var cancel = new CancellationTokenSource();
        var reports = 0;
        options.CancellationToken = cancel.Token;
        options.MetricsCallback = _ =>
        {
            if (reports++ == 0) cancel.Cancel();
        };
        var (_, train, _, pipeline) = PipelineFixture.Prepare(5, options);
        Assert.ThrowsAny<OperationCanceledException>(() => pipeline.Fit(train));
        Assert.Equal(1, reports);
    }

    [Theory]
    [InlineData(false, PipelineFixture.TestPerClass * 3)]   // the 60 test rows as ValidationSet
    [InlineData(true, 48)]                                   // ValidationFraction 0.2 of the 240 training rows
    public void Validation_data_come_from_the_ValidationSet_or_the_ValidationFraction(bool fraction, int expectedExamples)
    {
        var options = PipelineFixture.SmallOptions();
        options.Epochs = 1;
        if (fraction) options.ValidationFraction = 0.2;
        else options.ValidationSet = fixture.KeyedTest;
        var sizes = new List<long>();
        options.MetricsCallback = p => { if (p.Validation is { } v) sizes.Add(v.Count); };
        var (ml, train, _, _) = PipelineFixture.Prepare(PipelineFixture.Seed, options);
        using var model = ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(options).Fit(fixture.KeyMap.Transform(train));
        // One validation, at the end of the one epoch.
        Assert.Equal([expectedExamples], sizes);
    }

    private List<float[]> ScoresOfAFreshFit(int seed)
    {
        var (_, train, test, pipeline) = PipelineFixture.Prepare(seed, PipelineFixture.SmallOptions());
        var model = pipeline.Fit(train);
        try
        {
            return Columns.Vectors(model.Transform(test));
        }
        finally
        {
            model.OfType<ImageClassificationTransformer>().Single().Dispose();
        }
    }
}
