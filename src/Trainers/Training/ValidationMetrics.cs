namespace MLNetNormalization.Training;

/// <summary>
/// Accumulates softmax probabilities and true labels batch by batch into <see cref="ValidationMetrics"/>. Only the
/// count, the number of correct predictions and the log-loss sum are kept, so memory does not grow with the data and
/// any split into batches gives the same metrics (the examples are summed one by one, in order). Not thread-safe.
/// </summary>
internal sealed class ValidationMetricsAccumulator
{
    /// <summary>
    /// The floor of the true class's probability before its logarithm: the float 1e-15 of ML.NET's multiclass evaluator
    /// (<c>Math.Min(1, Math.Max(Epsilon, p))</c> with <c>Epsilon = (float)1e-15</c>), so a zero probability costs
    /// -ln(1e-15f) ≈ 34.5388 rather than infinity; the ceiling 1 makes a float softmax value rounded above 1 cost 0
    /// rather than a negative loss.
    /// </summary>
    public const float ProbabilityFloor = 1e-15f;

    // A float32 softmax row sums to 1 within about (classes × 6e-8); 1e-3 admits that for any realistic class
    // count while still rejecting logits or unnormalized scores, which almost never sum to 1.
    private const double RowSumTolerance = 1e-3;

    private readonly int _numberOfClasses;
    private int _count;
    private int _correct;
    private double _logLossSum;

    /// <param name="numberOfClasses">The length of each probability row; at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="numberOfClasses"/> is below 1.</exception>
    public ValidationMetricsAccumulator(int numberOfClasses)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numberOfClasses, 1);
        _numberOfClasses = numberOfClasses;
    }

    /// <summary>
    /// Adds a batch: <paramref name="probabilitiesRowMajor"/> holds one row of class probabilities per example (a
    /// [batch, classes] softmax tensor's data), <paramref name="labels"/> the true class indices. The whole batch is
    /// checked before any of it is added, so a refused batch leaves the accumulator as it was.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// When the probabilities are not one row per label, or a row holds a non-finite or negative value or does not sum
    /// to 1 (logits rather than probabilities).
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException">When a label is not a class index.</exception>
    public void Add(ReadOnlySpan<float> probabilitiesRowMajor, ReadOnlySpan<long> labels)
    {
        if (probabilitiesRowMajor.Length != (long)labels.Length * _numberOfClasses)
            throw new ArgumentException(
                $"The batch has {labels.Length} labels, so it needs {labels.Length} × {_numberOfClasses} = {(long)labels.Length * _numberOfClasses} probabilities " +
                $"(one row per example, one column per class), but {probabilitiesRowMajor.Length} were given.", nameof(probabilitiesRowMajor));
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0 || labels[i] >= _numberOfClasses)
                throw new ArgumentOutOfRangeException(nameof(labels), labels[i],
                    $"The label of example {i} of the batch is {labels[i]}; labels must be class indices in [0, {_numberOfClasses - 1}].");
            CheckProbabilities(Row(probabilitiesRowMajor, i), i, nameof(probabilitiesRowMajor));
        }
        for (var i = 0; i < labels.Length; i++)
            Accumulate(Row(probabilitiesRowMajor, i), (int)labels[i]);
    }

    /// <summary>The metrics of every example added so far.</summary>
    /// <exception cref="InvalidOperationException">When no example was added (an empty validation set).</exception>
    public ValidationMetrics ToMetrics()
    {
        if (_count == 0)
            throw new InvalidOperationException("No examples were evaluated, so there are no metrics; the validation data must hold at least one example.");
        return new ValidationMetrics((double)_correct / _count, _logLossSum / _count, _count);
    }

    private ReadOnlySpan<float> Row(ReadOnlySpan<float> rowMajor, int example) =>
        rowMajor.Slice(example * _numberOfClasses, _numberOfClasses);

    private static void CheckProbabilities(ReadOnlySpan<float> probabilities, int example, string parameterName)
    {
        double sum = 0;
        for (var c = 0; c < probabilities.Length; c++)
        {
            var p = probabilities[c];
            if (!float.IsFinite(p))
                throw new ArgumentException(
                    $"The probability of class {c} for example {example} of the batch is {p}; the model's outputs are not finite (training may have diverged).",
                    parameterName);
            if (p < 0)
                throw new ArgumentException(
                    $"The probability of class {c} for example {example} of the batch is negative ({p}); pass softmax probabilities, not logits.",
                    parameterName);
            sum += p;
        }
        if (Math.Abs(sum - 1) > RowSumTolerance)
            throw new ArgumentException(
                $"The probabilities of example {example} of the batch sum to {sum}, not 1 (within {RowSumTolerance}); pass softmax probabilities, not logits or unnormalized scores.",
                parameterName);
    }

    private void Accumulate(ReadOnlySpan<float> probabilities, int label)
    {
        // Strictly greater: the first of equal maxima, the lower class index, wins a tie.
        var predicted = 0;
        for (var c = 1; c < probabilities.Length; c++)
            if (probabilities[c] > probabilities[predicted]) predicted = c;

        // Checked: past int.MaxValue examples the count would wrap and the means would be wrong without a word.
        _count = checked(_count + 1);
        if (predicted == label) _correct++;
        _logLossSum -= Math.Log(Math.Clamp(probabilities[label], ProbabilityFloor, 1f));
    }
}
