namespace MLNetNormalization.Trainers.Training;

/// <summary>When a progress report is made.</summary>
public enum TrainingPhase
{
    /// <summary>After a training step (every ProgressEverySteps steps and the epoch's last).</summary>
    Step,

    /// <summary>After an epoch and its validation.</summary>
    EpochEnd,
}

/// <summary>
/// A progress report. Loss and Accuracy are the running means over the epoch's training batches so far;
/// ImagesPerSecond counts training images since this process started (or resumed) training.
/// </summary>
public sealed record TrainingProgress(
    TrainingPhase Phase,
    int Epoch,
    int Epochs,
    int Step,
    int StepsPerEpoch,
    double Loss,
    double Accuracy,
    double LearningRate,
    double ImagesPerSecond,
    TimeSpan Elapsed,
    TimeSpan EstimatedRemaining,
    ValidationMetrics? Validation);

/// <summary>One finished epoch: training loss and accuracy, and the validation metrics when there is validation data.</summary>
public sealed record EpochSummary(int Epoch, double TrainingLoss, double TrainingAccuracy, double LearningRate,
                                  double? ValidationAccuracy, double? ValidationLogLoss);

/// <summary>What a training run did.</summary>
public sealed record TrainingResult(
    IReadOnlyList<EpochSummary> History,
    int? BestEpoch,
    ValidationMetrics? FinalValidation,
    bool StoppedEarly,
    string? ResumedFrom);
