namespace MLNetNormalization.Trainers.Evaluation;

/// <summary>
/// Evaluation results of a multiclass classifier, with the property names and definitions of ML.NET's
/// <c>MulticlassClassificationMetrics</c>. Built by <see cref="MulticlassMetricsAccumulator.Compute()"/>.
/// </summary>
/// <remarks>
/// Ratios that have no defined value on the evaluated data are NaN, never 0, so that "no data" cannot be read as a
/// score: the log loss of a class without examples, the log-loss reduction when every example has the same class,
/// and the top-K accuracy when no K was asked for. ML.NET reports 0 in the first and last of these cases.
/// </remarks>
public sealed class MulticlassClassificationMetrics
{
    internal MulticlassClassificationMetrics(long numberOfExamples, double microAccuracy, double macroAccuracy,
        double logLoss, double logLossReduction, int topKPredictionCount, double[] topKAccuracyForAllK,
        double[] perClassLogLoss, ConfusionMatrix confusionMatrix)
    {
        NumberOfExamples = numberOfExamples;
        MicroAccuracy = microAccuracy;
        MacroAccuracy = macroAccuracy;
        LogLoss = logLoss;
        LogLossReduction = logLossReduction;
        TopKPredictionCount = topKPredictionCount;
        TopKAccuracyForAllK = Array.AsReadOnly(topKAccuracyForAllK);
        PerClassLogLoss = Array.AsReadOnly(perClassLogLoss);
        ConfusionMatrix = confusionMatrix;
    }

    /// <summary>The number of examples evaluated.</summary>
    public long NumberOfExamples { get; }

    /// <summary>The fraction of all examples whose predicted class (the highest probability) is the true class.</summary>
    public double MicroAccuracy { get; }

    /// <summary>
    /// The mean over classes of each class's accuracy (its recall: the fraction of its examples predicted correctly),
    /// so every class weighs the same whatever its size. Classes with no example in the evaluated data are left out
    /// of the mean, as in ML.NET's evaluator.
    /// </summary>
    public double MacroAccuracy { get; }

    /// <summary>
    /// The mean over examples of -ln p, p being the probability given to the true class, clamped to
    /// [<see cref="MulticlassMetricsAccumulator.ProbabilityFloor"/>, 1] as ML.NET does, so that a zero probability
    /// costs about 34.54 instead of infinity. 0 for a perfect model.
    /// </summary>
    public double LogLoss { get; }

    /// <summary>
    /// (LogLoss(prior) - LogLoss) / LogLoss(prior), the relative information gain over a model that predicts the
    /// class frequencies of the evaluated labels for every example; LogLoss(prior) is the entropy
    /// -Σ_c f_c ln f_c of those frequencies. 1 for a perfect model, 0 for the prior, negative when worse than the
    /// prior. NaN when all labels are one class (the prior log loss is 0, so there is nothing to reduce).
    /// </summary>
    public double LogLossReduction { get; }

    /// <summary>The K of <see cref="TopKAccuracy"/>; 0 when top-K accuracy was not asked for.</summary>
    public int TopKPredictionCount { get; }

    /// <summary>
    /// The fraction of examples whose true class is among the <see cref="TopKPredictionCount"/> highest probabilities,
    /// i.e. TopKAccuracyForAllK[K - 1]; NaN when K is 0. Ties rank the lower class index first.
    /// </summary>
    public double TopKAccuracy => TopKPredictionCount > 0 ? TopKAccuracyForAllK[TopKPredictionCount - 1] : double.NaN;

    /// <summary>The top-k accuracy for k = 1 .. <see cref="TopKPredictionCount"/> (entry k - 1); empty when K is 0.</summary>
    public IReadOnlyList<double> TopKAccuracyForAllK { get; }

    /// <summary>Per class, the mean log loss over the examples of that class; NaN for a class with no examples.</summary>
    public IReadOnlyList<double> PerClassLogLoss { get; }

    /// <summary>Counts of true class versus predicted class, with per-class precision and recall.</summary>
    public ConfusionMatrix ConfusionMatrix { get; }
}
