using MLNetNormalization.Tests.Support;
using MLNetNormalization.Training;
using static MLNetNormalization.Tests.Trainers.Training.TrainerRuns;

namespace MLNetNormalization.Tests.Trainers.Training;

/// <summary>
/// Training frees what it makes: with the model kept alive, the number of live native tensors after a run
/// is what it was before, whatever the run's length and however it ends. No garbage collection runs between
/// the counts, so a tensor left to its finalizer counts as alive: every one must be disposed on time.
/// </summary>
[Collection(TestCollections.NativeMemory)]
public sealed class ClassifierTrainerMemoryTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void ARunLeavesNoTensorsBehindWhateverItsLengthOrEnd()
    {
        using var model = TinyNet.Create();
        NativeMemory.Settle();
        // Every tensor this thread made and has not disposed (the trainer makes its tensors on the calling thread).
        static long Live() => DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
        var baseline = Live();

        void Check(string what) => Assert.True(Live() == baseline, $"{what}: {Live() - baseline} tensors more than before training");

        // Validation, best-model copies, step checkpoints: every path that makes tensors.
        TrainingOptions Options(int epochs, string workspace) => TrainerRuns.Options(temp.File(workspace)) with { Epochs = epochs, CheckpointEverySteps = 3 };
        var trainer = new ClassifierTrainer(Options(1, "one"));
        trainer.Train(model, Train, Validation);
        Check("after 1 epoch");
        new ClassifierTrainer(Options(3, "three")).Train(model, Train, Validation);
        Check("after 3 epochs");

        // Cancelled in epoch 2, after epoch 1 made a best-model copy; then resumed to the end.
        using var cancellation = new CancellationTokenSource();
        var cancelled = new ClassifierTrainer(Options(3, "cancelled"));
        Assert.ThrowsAny<OperationCanceledException>(() => cancelled.Train(model, Train, Validation,
            p => { if (p.Epoch == 2 && p.Step == 3) cancellation.Cancel(); }, cancellation.Token));
        Check("after a cancelled run");
        cancelled.Train(model, Train, Validation);
        Check("after resuming it");

        trainer.Evaluate(model, Validation);
        Check("after an evaluation");
        GC.KeepAlive(model);
    }
}
