namespace MLNetNormalization.Training;

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
