using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Support;
using MLNetNormalization.Training;
using static MLNetNormalization.Tests.Trainers.Training.TrainerRuns;

namespace MLNetNormalization.Tests.Trainers.Training;

/// <summary>
/// Cancelling and resuming in-process (KillAndResumeTests covers a killed process): a resumed run's
/// weights and history equal, bit for bit, those of a run never interrupted, and a checkpoint is only
/// resumed by the run it belongs to. The tiny model has dropout, so a resumed run also needs the global
/// generator's state back.
/// </summary>
[Collection(TestCollections.GlobalRandom)]
public sealed class ClassifierTrainerResumeTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    private static TrainingResult Run(TinyNet model, TrainingOptions options, Action<TrainingProgress>? progress = null, CancellationToken cancellation = default) =>
        new ClassifierTrainer(options).Train(model, Train, Validation, progress, cancellation);

    // The weights and history of an uninterrupted run of these options.
    private (Dictionary<string, byte[]> Weights, IReadOnlyList<EpochSummary> History) Uninterrupted(TrainingOptions options)
    {
        using var model = TinyNet.Create();
        var result = Run(model, options with { WorkspacePath = temp.File("uninterrupted") });
        Assert.Null(result.ResumedFrom);
        return (States.Of(model), result.History);
    }

    // Runs until the progress report of (epoch, step) cancels it; returns the workspace with its checkpoint.
    private string CancelAt(TrainingOptions options, int epoch, int step)
    {
        var workspace = temp.File($"cancelled-{epoch}-{step}");
        using var cancellation = new CancellationTokenSource();
        using var model = TinyNet.Create();
        Assert.ThrowsAny<OperationCanceledException>(() => Run(model, options with { WorkspacePath = workspace }, p =>
        {
            if (p.Phase == TrainingPhase.Step && p.Epoch == epoch && p.Step == step) cancellation.Cancel();
        }, cancellation.Token));
        Assert.True(File.Exists(Path.Combine(workspace, ClassifierTrainer.CheckpointFileName)), "cancelling wrote no checkpoint");
        return workspace;
    }

    [Theory]
    // Mid-epoch: resumed at the next batch of epoch 2.
    [InlineData(2, 3, "epoch 2, batch 3")]
    // After the last step of epoch 1, while it is validated: resumed with the epoch's steps all done, and
    // its summary must still give the rate its steps used (0.05), not the next epoch's (0.025).
    [InlineData(1, 8, "epoch 1, batch 8")]
    public void ACancelledRunResumesToTheWeightsAndHistoryOfAnUninterruptedOne(int epoch, int step, string resumedFrom)
    {
        var options = Options();
        var (weights, history) = Uninterrupted(options);
        var workspace = CancelAt(options, epoch, step);

        // A fresh model, initialised as the first was: the checkpoint replaces its weights and the generator's state.
        using var model = TinyNet.Create();
        var result = Run(model, options with { WorkspacePath = workspace });
        Assert.Equal(resumedFrom, result.ResumedFrom);
        States.AssertEqual(weights, States.Of(model), $"resumed from {resumedFrom} vs. uninterrupted");
        Assert.Equal(history, result.History);
    }

    [Fact]
    public void ACopyOfAMidEpochStepCheckpointResumesToTheSameWeights()
    {
        // Checkpoints after steps 2, 4 and 6 of each epoch (step 8 is the epoch end's). When step 5 of epoch 2
        // is reported, the file holds step 4's: copy it, with the best model so far (epoch 1's, as the
        // checkpoint's position says), let the run finish, and resume the copy elsewhere.
        var options = Options(temp.File("original")) with { CheckpointEverySteps = 2 };
        var copy = temp.File("copy");
        Directory.CreateDirectory(copy);
        using var model = TinyNet.Create();
        var result = Run(model, options, p =>
        {
            if (p.Phase != TrainingPhase.Step || p.Epoch != 2 || p.Step != 5) return;
            foreach (var file in new[] { ClassifierTrainer.CheckpointFileName, ClassifierTrainer.BestModelFileName })
                File.Copy(Path.Combine(temp.File("original"), file), Path.Combine(copy, file));
        });
        Assert.True(File.Exists(Path.Combine(copy, ClassifierTrainer.CheckpointFileName)), "the progress callback never saw epoch 2, step 5");

        using var resumed = TinyNet.Create();
        var resumedResult = Run(resumed, options with { WorkspacePath = copy });
        Assert.Equal("epoch 2, batch 4", resumedResult.ResumedFrom);
        States.AssertEqual(States.Of(model), States.Of(resumed), "resumed from a copied step checkpoint vs. uninterrupted");
        Assert.Equal(result.History, resumedResult.History);
    }

    public static TheoryData<string> ChangedOptions() => ["BatchSize", "LearningRate", "Seed", "CropPadding", "Epochs"];

    private static TrainingOptions Change(TrainingOptions options, string option) => option switch
    {
        "BatchSize" => options with { BatchSize = 16 },
        "LearningRate" => options with { LearningRate = 0.1 },
        "Seed" => options with { Seed = 4 },
        "CropPadding" => options with { CropPadding = 2 },
        "Epochs" => options with { Epochs = 4 },
        _ => throw new ArgumentOutOfRangeException(nameof(option), option, "no such case"),
    };

    [Theory]
    [MemberData(nameof(ChangedOptions))]
    public void ResumingWithOtherOptionsIsRefusedNamingTheOptionAndLeavesTheModelAlone(string option)
    {
        var options = Options();
        var workspace = CancelAt(options, 2, 3);
        using var model = TinyNet.Create(initSeed: 2);
        var before = States.Of(model);

        var error = Assert.Throws<InvalidOperationException>(() => Run(model, Change(options, option) with { WorkspacePath = workspace }));
        Assert.Contains(option, error.Message);
        Assert.Contains(ClassifierTrainer.CheckpointFileName, error.Message);
        // The refused checkpoint must not have been loaded into the model: a retry with Resume = false would start from it.
        States.AssertEqual(before, States.Of(model), "the model after a refused resumption");
    }

    [Fact]
    public void ResumingWithAnotherModelIsRefused()
    {
        var workspace = CancelAt(Options(), 2, 3);
        using var wider = TinyNet.Create(width: 5);
        var before = States.Of(wider);
        var error = Assert.Throws<InvalidOperationException>(() => Run(wider, Options(workspace)));
        Assert.Contains("model", error.Message);
        States.AssertEqual(before, States.Of(wider), "the other model after a refused resumption");
    }

    [Fact]
    public void ResumingWithAnotherNormalizerOfTheSameShapesIsRefusedNamingBoth()
    {
        // GN with 2 or 4 groups over 8 channels (and 2 or 3 over 6) has the same parameters and buffers: only the
        // layers' settings tell the checkpoint's network from this one.
        var options = Options();
        var workspace = temp.File("gn2");
        using var cancellation = new CancellationTokenSource();
        using (var model = TinyNet.Create(norm: c => new GroupNorm(c, 2)))
            Assert.ThrowsAny<OperationCanceledException>(() => Run(model, options with { WorkspacePath = workspace }, p =>
            {
                if (p.Phase == TrainingPhase.Step && p.Epoch == 2 && p.Step == 3) cancellation.Cancel();
            }, cancellation.Token));

        using var other = TinyNet.Create(norm: c => new GroupNorm(c, c == 6 ? 3 : 4));
        var before = States.Of(other);
        var error = Assert.Throws<InvalidOperationException>(() => Run(other, options with { WorkspacePath = workspace }));
        Assert.Contains("the model's modules (checkpoint: features.0.norm: GroupNorm(6, groups=2, eps=1E-05, momentum=0.1), " +
                        "now: features.0.norm: GroupNorm(6, groups=3, eps=1E-05, momentum=0.1))", error.Message);
        Assert.DoesNotContain("parameters", error.Message);
        States.AssertEqual(before, States.Of(other), "the model after a refused resumption");
    }

    public static TheoryData<string> Damages() => ["flipped byte in the header", "flipped byte in the tensors", "flipped byte in the checksum", "cut short", "emptied"];

    [Theory]
    [MemberData(nameof(Damages))]
    public void ADamagedCheckpointIsRefusedNamingTheFileAndWhatToDoAndLeavesTheModelAlone(string damage)
    {
        var workspace = CancelAt(Options(), 2, 3);
        var checkpoint = Path.Combine(workspace, ClassifierTrainer.CheckpointFileName);
        var message = Damage(checkpoint, damage);

        using var model = TinyNet.Create(initSeed: 2);
        var before = States.Of(model);
        var error = Assert.Throws<InvalidDataException>(() => Run(model, Options(workspace)));
        Assert.StartsWith($"{checkpoint} ", error.Message);
        Assert.Contains(message, error.Message);
        Assert.Contains($"delete {checkpoint} to train afresh", error.Message);
        States.AssertEqual(before, States.Of(model), "the model after a refused checkpoint");
    }

    [Theory]
    [MemberData(nameof(Damages))]
    public void ADamagedBestModelFileIsRefusedNamingTheFile(string damage)
    {
        var workspace = CancelAt(Options(), 2, 3);
        var best = Path.Combine(workspace, ClassifierTrainer.BestModelFileName);
        var message = Damage(best, damage);
        using var model = TinyNet.Create();
        var error = Assert.Throws<InvalidDataException>(() => Run(model, Options(workspace)));
        Assert.StartsWith($"{best} ", error.Message);
        Assert.Contains(message, error.Message);
        Assert.Contains($"and the {ClassifierTrainer.CheckpointFileName} beside it", error.Message);
    }

    /// <summary>Damages <paramref name="path"/> as <paramref name="damage"/> says; returns what the refusal must say.</summary>
    private static string Damage(string path, string damage)
    {
        var bytes = File.ReadAllBytes(path);
        var trailer = 32 + "\nMLNetNormalization SHA-256\n".Length;
        switch (damage)
        {
            case "cut short":
                File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
                return "cut short: it does not end with its SHA-256";
            case "emptied":
                File.WriteAllBytes(path, []);
                return "cut short: it is 0 bytes";
        }
        var at = damage switch
        {
            "flipped byte in the header" => 40,
            "flipped byte in the tensors" => (bytes.Length - trailer) * 3 / 4,
            _ => bytes.Length - trailer + 5,
        };
        bytes[at] ^= 0x10;
        File.WriteAllBytes(path, bytes);
        return "is damaged: its content does not match the SHA-256 written with it";
    }

    [Fact]
    public void TheBestModelFileIsReadByTorchSharpsModuleLoad()
    {
        var workspace = CancelAt(Options(), 2, 3);
        var best = Path.Combine(workspace, ClassifierTrainer.BestModelFileName);
        using var model = TinyNet.Create(initSeed: 2);
        model.load(best);
        using var reference = TinyNet.Create(initSeed: 2);
        States.AssertEqual(States.OfModelFile(best, reference), States.Of(model), "Module.load vs. the trainer's reader");
    }

    [Fact]
    public void ResumeFalseStartsAfreshDespiteACheckpoint()
    {
        var options = Options();
        var (weights, history) = Uninterrupted(options);
        var workspace = CancelAt(options, 2, 3);

        using var model = TinyNet.Create();
        var result = Run(model, options with { WorkspacePath = workspace, Resume = false });
        Assert.Null(result.ResumedFrom);
        States.AssertEqual(weights, States.Of(model), "a fresh start in a used workspace vs. uninterrupted");
        Assert.Equal(history, result.History);
    }
}
