namespace MLNetNormalization;

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

/// <summary>
/// What the training engine measures on validation data: enough to report progress and pick the best epoch. The names
/// and definitions are those of ML.NET's <c>MulticlassClassificationMetrics</c>, whose <c>Evaluate</c> gives the full
/// report (per-class numbers, confusion matrix).
/// </summary>
/// <param name="MicroAccuracy">
/// The fraction (0 to 1) of examples whose predicted class, the one with the highest probability, is the true class.
/// Ties go to the lower class index, as in ML.NET's evaluator.
/// </param>
/// <param name="LogLoss">
/// The mean over examples of -ln p (natural log, so in nats), p being the probability given to the true class clamped
/// to [(float)1e-15, 1] as ML.NET's evaluator does: 0 for a perfect model, at most about 34.54 per example (a true class
/// given probability 0) instead of infinity.
/// </param>
/// <param name="Count">The number of examples evaluated.</param>
public sealed record ValidationMetrics(double MicroAccuracy, double LogLoss, int Count);
