namespace MLNetNormalization.Trainers.Evaluation;

/// <summary>
/// Accumulates predicted class probabilities and true labels, example by example or batch by batch, and computes
/// <see cref="MulticlassClassificationMetrics"/> from them. Pure C# over spans, so a training loop can feed it the
/// softmax of each batch's logits copied to a float array. Not thread-safe.
/// </summary>
/// <remarks>
/// Only sufficient statistics are kept (confusion counts, per-class log-loss sums and class sizes, and the rank of
/// the true class below K), so memory is O(classes²) whatever the number of examples, and adding the same examples
/// in any batching gives the same metrics. The predicted class is the one with the highest probability; ties go to
/// the lower class index, and top-K ranks break ties the same way (ML.NET sorts classes with a stable descending
/// sort, which also puts the lower index first).
/// </remarks>
public sealed class MulticlassMetricsAccumulator
{
    /// <summary>
    /// The probability of the true class is clamped to [ProbabilityFloor, 1] before taking its logarithm: the float
    /// 1e-15 that ML.NET's multiclass evaluator uses, so a zero probability costs -ln(1e-15f) ≈ 34.5388 rather than
    /// infinity, and a float softmax value rounded just above 1 costs 0 rather than a negative loss.
    /// </summary>
    public const float ProbabilityFloor = 1e-15f;

    // A float32 softmax row sums to 1 within about (classes × 6e-8); 1e-3 admits that for any realistic class
    // count while still rejecting logits or unnormalized scores, which almost never sum to 1.
    private const double RowSumTolerance = 1e-3;

    private readonly long[][] _confusion;
    private readonly long[] _classSizes;
    private readonly double[] _classLogLossSums;
    private readonly long[] _trueClassRankCounts;   // [r]: examples whose true class ranked r-th, for r < K
    private readonly IReadOnlyList<string> _classNames;
    private double _logLossSum;
    private long _correct;

    /// <param name="numberOfClasses">The number of classes, i.e. the length of each probability row (at least 2).</param>
    /// <param name="topKPredictionCount">The K of top-K accuracy, in [0, numberOfClasses]; 0 leaves top-K accuracy out, as in ML.NET.</param>
    /// <param name="classNames">Optional names, one per class, for the confusion table; "0", "1", ... by default.</param>
    public MulticlassMetricsAccumulator(int numberOfClasses, int topKPredictionCount = 0, IReadOnlyList<string>? classNames = null)
    {
        if (numberOfClasses < 2)
            throw new ArgumentOutOfRangeException(nameof(numberOfClasses), numberOfClasses,
                "A multiclass evaluation needs at least 2 classes; pass the length of the model's probability rows.");
        if (topKPredictionCount < 0 || topKPredictionCount > numberOfClasses)
            throw new ArgumentOutOfRangeException(nameof(topKPredictionCount), topKPredictionCount,
                $"topKPredictionCount must be in [0, {numberOfClasses}] (0 skips top-K accuracy; K = {numberOfClasses} classes makes every example a hit).");
        if (classNames is not null)
        {
            if (classNames.Count != numberOfClasses)
                throw new ArgumentException(
                    $"{classNames.Count} class names were given for {numberOfClasses} classes; give one name per class, or none.", nameof(classNames));
            for (var c = 0; c < numberOfClasses; c++)
                if (classNames[c] is null)
                    throw new ArgumentException($"The name of class {c} is null; give every class a name.", nameof(classNames));
        }

        NumberOfClasses = numberOfClasses;
        TopKPredictionCount = topKPredictionCount;
        _classNames = Array.AsReadOnly(classNames?.ToArray()
            ?? Enumerable.Range(0, numberOfClasses).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        _confusion = Enumerable.Range(0, numberOfClasses).Select(_ => new long[numberOfClasses]).ToArray();
        _classSizes = new long[numberOfClasses];
        _classLogLossSums = new double[numberOfClasses];
        _trueClassRankCounts = new long[topKPredictionCount];
    }

    public int NumberOfClasses { get; }

    public int TopKPredictionCount { get; }

    /// <summary>The number of examples added so far.</summary>
    public long NumberOfExamples { get; private set; }

    /// <summary>Adds one example: its probability for each class (summing to 1) and its true class index.</summary>
    public void Add(ReadOnlySpan<float> probabilities, int label) => Add(probabilities, label, "the example");

    /// <summary>
    /// Adds a batch: <paramref name="probabilitiesRowMajor"/> holds one row of <see cref="NumberOfClasses"/>
    /// probabilities per example (a [batch, classes] tensor's data), <paramref name="labels"/> the true class indices
    /// (an int64 label tensor's data). The whole batch is checked before any of it is added, so a bad batch leaves the
    /// accumulator as it was.
    /// </summary>
    public void Add(ReadOnlySpan<float> probabilitiesRowMajor, ReadOnlySpan<long> labels)
    {
        if (probabilitiesRowMajor.Length != (long)labels.Length * NumberOfClasses)
            throw new ArgumentException(
                $"The batch has {labels.Length} labels, so it needs {labels.Length} × {NumberOfClasses} = {(long)labels.Length * NumberOfClasses} probabilities " +
                $"(one row per example, one column per class), but {probabilitiesRowMajor.Length} were given.", nameof(probabilitiesRowMajor));
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0 || labels[i] >= NumberOfClasses)
                throw new ArgumentOutOfRangeException(nameof(labels), labels[i],
                    $"The label of example {i} of the batch is {labels[i]}; labels must be class indices in [0, {NumberOfClasses - 1}].");
            CheckExample(Row(probabilitiesRowMajor, i), (int)labels[i], $"example {i} of the batch", nameof(probabilitiesRowMajor));
        }
        for (var i = 0; i < labels.Length; i++)
            Accumulate(Row(probabilitiesRowMajor, i), (int)labels[i]);
    }

    /// <summary>The metrics of all examples added so far. Adding more examples afterwards and computing again is allowed.</summary>
    public MulticlassClassificationMetrics Compute()
    {
        if (NumberOfExamples == 0)
            throw new InvalidOperationException("No examples were added, so there is nothing to evaluate; call Add with at least one example before Compute.");
        double n = NumberOfExamples;

        double recallSum = 0, priorLogLoss = 0;
        var presentClasses = 0;
        var perClassLogLoss = new double[NumberOfClasses];
        for (var c = 0; c < NumberOfClasses; c++)
        {
            if (_classSizes[c] == 0)
            {
                perClassLogLoss[c] = double.NaN;
                continue;
            }
            presentClasses++;
            recallSum += (double)_confusion[c][c] / _classSizes[c];
            perClassLogLoss[c] = _classLogLossSums[c] / _classSizes[c];
            var frequency = _classSizes[c] / n;
            priorLogLoss -= frequency * Math.Log(frequency);
        }

        var logLoss = _logLossSum / n;
        var topK = new double[TopKPredictionCount];
        long hits = 0;
        for (var k = 0; k < TopKPredictionCount; k++)
        {
            hits += _trueClassRankCounts[k];
            topK[k] = hits / n;
        }

        var counts = _confusion.Select(row => row.Select(count => (double)count).ToArray()).ToArray();
        return new MulticlassClassificationMetrics(
            NumberOfExamples,
            microAccuracy: _correct / n,
            macroAccuracy: recallSum / presentClasses,
            logLoss,
            logLossReduction: priorLogLoss > 0 ? (priorLogLoss - logLoss) / priorLogLoss : double.NaN,
            TopKPredictionCount,
            topK,
            perClassLogLoss,
            new ConfusionMatrix(counts, _classNames));
    }

    /// <summary>
    /// Metrics of a whole data set at once: <paramref name="probabilities"/>[i] holds example i's probability for each
    /// class (the class count is the rows' length), <paramref name="labels"/>[i] its true class index.
    /// </summary>
    public static MulticlassClassificationMetrics Compute(float[][] probabilities, int[] labels,
        int topKPredictionCount = 0, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        ArgumentNullException.ThrowIfNull(labels);
        if (probabilities.Length != labels.Length)
            throw new ArgumentException(
                $"There are {probabilities.Length} probability rows but {labels.Length} labels; give one row and one label per example.", nameof(labels));
        if (probabilities.Length == 0)
            throw new ArgumentException("There are no examples to evaluate; give at least one probability row and label.", nameof(probabilities));
        if (probabilities.Any(row => row is null))
            throw new ArgumentException("A probability row is null; give one row of class probabilities per example.", nameof(probabilities));

        var accumulator = new MulticlassMetricsAccumulator(probabilities[0].Length, topKPredictionCount, classNames);
        for (var i = 0; i < labels.Length; i++)
            accumulator.Add(probabilities[i], labels[i], $"example {i}");
        return accumulator.Compute();
    }

    private void Add(ReadOnlySpan<float> probabilities, int label, string example)
    {
        CheckExample(probabilities, label, example, nameof(probabilities));
        Accumulate(probabilities, label);
    }

    private ReadOnlySpan<float> Row(ReadOnlySpan<float> rowMajor, int example) =>
        rowMajor.Slice(example * NumberOfClasses, NumberOfClasses);

    private void CheckExample(ReadOnlySpan<float> probabilities, int label, string example, string probabilitiesName)
    {
        if (probabilities.Length != NumberOfClasses)
            throw new ArgumentException(
                $"The probability row of {example} has {probabilities.Length} values, but this accumulator evaluates {NumberOfClasses} classes; " +
                "give one probability per class.", probabilitiesName);
        if ((uint)label >= (uint)NumberOfClasses)
            throw new ArgumentOutOfRangeException(nameof(label), label,
                $"The label of {example} is {label}; labels must be class indices in [0, {NumberOfClasses - 1}].");
        double sum = 0;
        for (var c = 0; c < probabilities.Length; c++)
        {
            var p = probabilities[c];
            if (!float.IsFinite(p))
                throw new ArgumentException(
                    $"The probability of class {c} for {example} is {p}; the model's outputs are not finite (training may have diverged).", probabilitiesName);
            if (p < 0)
                throw new ArgumentException(
                    $"The probability of class {c} for {example} is negative ({p}); pass softmax probabilities, not logits.", probabilitiesName);
            sum += p;
        }
        if (Math.Abs(sum - 1) > RowSumTolerance)
            throw new ArgumentException(
                $"The probabilities of {example} sum to {sum}, not 1 (within {RowSumTolerance}); pass softmax probabilities, not logits or unnormalized scores.",
                probabilitiesName);
    }

    private void Accumulate(ReadOnlySpan<float> probabilities, int label)
    {
        var trueProbability = probabilities[label];
        var predicted = 0;
        var rank = 0;   // classes ranked above the true class: higher probability, or equal with a lower index
        for (var c = 0; c < probabilities.Length; c++)
        {
            var p = probabilities[c];
            if (p > probabilities[predicted]) predicted = c;
            if (p > trueProbability || (p == trueProbability && c < label)) rank++;
        }

        var loss = -Math.Log(Math.Clamp(trueProbability, ProbabilityFloor, 1f));
        NumberOfExamples++;
        _logLossSum += loss;
        _classLogLossSums[label] += loss;
        _classSizes[label]++;
        _confusion[label][predicted]++;
        if (predicted == label) _correct++;
        if (rank < TopKPredictionCount) _trueClassRankCounts[rank]++;
    }
}
