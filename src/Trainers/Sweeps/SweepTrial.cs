using MLNetNormalization.Training;

namespace MLNetNormalization.Sweeps;

/// <summary>One epoch of a trial, as the training engine reported it.</summary>
/// <param name="Epoch">1-based.</param>
/// <param name="TrainingLoss">Mean training loss over the epoch's batches.</param>
/// <param name="TrainingAccuracy">Fraction of the epoch's training examples classified right (with augmentation, in training mode).</param>
/// <param name="ValidationLogLoss">ML.NET's LogLoss on the validation data after the epoch.</param>
/// <param name="ValidationMicroAccuracy">ML.NET's MicroAccuracy on the validation data after the epoch.</param>
/// <param name="LearningRate">The learning rate of the epoch's last step.</param>
public sealed record SweepEpoch(int Epoch, double TrainingLoss, double TrainingAccuracy, double? ValidationLogLoss, double? ValidationMicroAccuracy, double LearningRate);

/// <summary>The validation metrics of a trained trial at one inference alpha (no retraining).</summary>
public sealed record AlphaPoint(double Alpha, double MicroAccuracy, double LogLoss);

/// <summary>
/// A finished trial: what it trained with, how each epoch went, its final validation metrics, the inference-alpha curve,
/// and how long it took. One line of the sweep's log.
/// </summary>
/// <param name="Index">Its place in the sweep's candidate list (<see cref="NormalizerSweepExperiment.Candidates"/>), 0-based.</param>
/// <param name="Options">The normalizer, learning rate, weight decays and planned epochs.</param>
/// <param name="History">Every epoch trained, in order.</param>
/// <param name="MicroAccuracy">Validation MicroAccuracy of the trained model: the best epoch's weights (the engine keeps them), at the layers' default alpha.</param>
/// <param name="LogLoss">Validation LogLoss of that model.</param>
/// <param name="AlphaCurve">Validation metrics at each of the settings' inference alphas, in that order.</param>
/// <param name="BestAlpha">The alpha of the curve with the highest MicroAccuracy (ties: the lower LogLoss, then the first).</param>
/// <param name="BestAlphaMicroAccuracy">MicroAccuracy at <paramref name="BestAlpha"/>; trials are ranked by it.</param>
/// <param name="BestAlphaLogLoss">LogLoss at <paramref name="BestAlpha"/>.</param>
/// <param name="Duration">Training and alpha tuning, summed over the halving rungs run in the Execute that finished it.</param>
/// <param name="StoppedEarly">True when successive halving stopped it before its planned epochs.</param>
public sealed record SweepTrial(int Index, SweepTrialOptions Options, IReadOnlyList<SweepEpoch> History, double MicroAccuracy, double LogLoss,
    IReadOnlyList<AlphaPoint> AlphaCurve, double BestAlpha, double BestAlphaMicroAccuracy, double BestAlphaLogLoss, TimeSpan Duration, bool StoppedEarly)
{
    /// <summary>Epochs trained: the length of <see cref="History"/>.</summary>
    public int EpochsTrained => History.Count;

    /// <summary>Value equality, with <see cref="History"/> and <see cref="AlphaCurve"/> compared element by element (a trial read back from the log equals the one logged).</summary>
    public bool Equals(SweepTrial? other) =>
        other is not null && Index == other.Index && Options == other.Options && History.SequenceEqual(other.History)
        && MicroAccuracy.Equals(other.MicroAccuracy) && LogLoss.Equals(other.LogLoss) && AlphaCurve.SequenceEqual(other.AlphaCurve)
        && BestAlpha.Equals(other.BestAlpha) && BestAlphaMicroAccuracy.Equals(other.BestAlphaMicroAccuracy) && BestAlphaLogLoss.Equals(other.BestAlphaLogLoss)
        && Duration == other.Duration && StoppedEarly == other.StoppedEarly;

    /// <summary>A hash of the index, options and final metrics, consistent with <see cref="Equals(SweepTrial?)"/>.</summary>
    public override int GetHashCode() => HashCode.Combine(Index, Options, MicroAccuracy, LogLoss, BestAlpha, History.Count, StoppedEarly);
}

/// <summary>What a sweep's progress report is about.</summary>
public enum NormalizerSweepProgressKind
{
    /// <summary>A trial starts (or continues, in a later halving rung) training.</summary>
    TrialStarted,

    /// <summary>The training engine's report: <see cref="NormalizerSweepProgress.Training"/> (every 50 steps and at each epoch end, with validation metrics).</summary>
    Training,

    /// <summary>A successive-halving trial reached its rung's epochs and waits for the rung's cut.</summary>
    TrialPaused,

    /// <summary>A trial finished (trained, tuned and logged): <see cref="NormalizerSweepProgress.Trial"/>.</summary>
    TrialFinished,

    /// <summary>A trial finished in an earlier Execute was read from the log instead of trained: <see cref="NormalizerSweepProgress.Trial"/>.</summary>
    TrialResumedFromLog,
}

/// <summary>A sweep's progress report, given to Execute's progress handler on the sweep's own thread.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="TrialIndex">The trial's index in the candidate list.</param>
/// <param name="Options">The trial's options.</param>
/// <param name="Training">The engine's report, for <see cref="NormalizerSweepProgressKind.Training"/>; else null.</param>
/// <param name="Trial">The finished trial, for TrialFinished and TrialResumedFromLog; else null.</param>
public sealed record NormalizerSweepProgress(NormalizerSweepProgressKind Kind, int TrialIndex, SweepTrialOptions Options, TrainingProgress? Training, SweepTrial? Trial);

/// <summary>
/// What a sweep found: every finished trial (this Execute's and, when resumed, the log's), the best one and its model.
/// Disposing it frees the best model's network.
/// </summary>
public sealed class NormalizerSweepResult : IDisposable
{
    internal NormalizerSweepResult(IReadOnlyList<SweepTrial> trials, SweepTrial bestTrial, ImageClassificationTransformer bestModel, int candidateCount,
        int resumedTrialCount, bool budgetExhausted, TimeSpan elapsed)
    {
        (Trials, BestTrial, BestModel, CandidateCount, ResumedTrialCount, BudgetExhausted, Elapsed) =
            (trials, bestTrial, bestModel, candidateCount, resumedTrialCount, budgetExhausted, elapsed);
    }

    /// <summary>Every finished trial, by <see cref="SweepTrial.Index"/>.</summary>
    public IReadOnlyList<SweepTrial> Trials { get; }

    /// <summary>The trial with the highest <see cref="SweepTrial.BestAlphaMicroAccuracy"/> (ties: the lower index).</summary>
    public SweepTrial BestTrial { get; }

    /// <summary>
    /// The best trial's model at its best inference alpha, an ML.NET transformer like the one <c>ImageClassifierWithNorm</c>'s
    /// Fit returns: save it with <c>ml.Model.Save(result.BestModel, trainData.Schema, path)</c>. Disposed with the result.
    /// </summary>
    public ImageClassificationTransformer BestModel { get; }

    /// <summary>Candidates the strategy picked (trials that would run without limits).</summary>
    public int CandidateCount { get; }

    /// <summary>Trials read from the log rather than trained in this Execute.</summary>
    public int ResumedTrialCount { get; }

    /// <summary>True when the time budget ended the sweep before every candidate finished (run Execute again with the same settings and log to go on).</summary>
    public bool BudgetExhausted { get; }

    /// <summary>Wall-clock time of this Execute.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Frees <see cref="BestModel"/>.</summary>
    public void Dispose() => BestModel.Dispose();
}
