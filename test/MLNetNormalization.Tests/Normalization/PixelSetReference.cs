namespace MLNetNormalization.Tests.Normalization;

/// <summary>
/// An independent float64 oracle for the pixel-set layers, in plain arrays and loops (no libtorch, no
/// pooling algebra): a pixel set is a function (n, c) → set id; each set's mean and biased variance are
/// computed directly over all the pixels of its cells, in two passes.
/// </summary>
internal sealed class PixelSetReference
{
    public PixelSetReference(double[] x, int n, int c, int h, int w)
    {
        Assert.Equal(n * c * h * w, x.Length);
        X = x;
        N = n;
        C = c;
        L = h * w;
    }

    public double[] X { get; }
    public int N { get; }
    public int C { get; }

    /// <summary>Pixels per (n, c) cell.</summary>
    public int L { get; }

    // ----- pixel sets as (n, c) → set id -----

    public static Func<int, int, int> Batch => (_, c) => c;

    public Func<int, int, int> Instance => (n, c) => n * C + c;

    public static Func<int, int, int> Layer => (n, _) => n;

    public Func<int, int, int> Group(int groups) => (n, c) => n * groups + c / (C / groups);

    public Func<int, int, int> Extended(int groups) => (_, c) => c / (C / groups);

    /// <summary>BN within chunks of examples given by <paramref name="chunkOf"/>.</summary>
    public Func<int, int, int> Ghost(int[] chunkOf) => (n, c) => chunkOf[n] * C + c;

    /// <summary>One of G channel groups within chunks of examples given by <paramref name="chunkOf"/>.</summary>
    public Func<int, int, int> BatchGroup(int groups, int[] chunkOf) => (n, c) => chunkOf[n] * groups + c / (C / groups);

    // ----- statistics -----

    /// <summary>Per set id: mean, biased variance and value count over every pixel of the set's cells.</summary>
    public (Dictionary<int, double> Mean, Dictionary<int, double> Var, Dictionary<int, int> Count) SetStatistics(Func<int, int, int> setOf)
    {
        var sum = new Dictionary<int, double>();
        var count = new Dictionary<int, int>();
        for (var n = 0; n < N; n++)
            for (var c = 0; c < C; c++)
            {
                var id = setOf(n, c);
                for (var i = 0; i < L; i++)
                {
                    sum[id] = sum.GetValueOrDefault(id) + X[(n * C + c) * L + i];
                    count[id] = count.GetValueOrDefault(id) + 1;
                }
            }
        var mean = sum.ToDictionary(kv => kv.Key, kv => kv.Value / count[kv.Key]);
        var squares = new Dictionary<int, double>();
        for (var n = 0; n < N; n++)
            for (var c = 0; c < C; c++)
            {
                var id = setOf(n, c);
                for (var i = 0; i < L; i++)
                {
                    var d = X[(n * C + c) * L + i] - mean[id];
                    squares[id] = squares.GetValueOrDefault(id) + d * d;
                }
            }
        return (mean, squares.ToDictionary(kv => kv.Key, kv => kv.Value / count[kv.Key]), count);
    }

    /// <summary>The set's mean and biased variance spread over the [N·C] cells.</summary>
    public (double[] Mean, double[] Var) CellStatistics(Func<int, int, int> setOf)
    {
        var (mean, var, _) = SetStatistics(setOf);
        var cellMean = new double[N * C];
        var cellVar = new double[N * C];
        for (var n = 0; n < N; n++)
            for (var c = 0; c < C; c++)
            {
                cellMean[n * C + c] = mean[setOf(n, c)];
                cellVar[n * C + c] = var[setOf(n, c)];
            }
        return (cellMean, cellVar);
    }

    /// <summary>gamma[c]·(x - mu[n,c]) / sqrt(var[n,c] + eps) + beta[c], with per-cell mu and var.</summary>
    public double[] Normalize(double[] cellMean, double[] cellVar, double[] gamma, double[] beta, double eps = 1e-5)
    {
        var y = new double[X.Length];
        for (var n = 0; n < N; n++)
            for (var c = 0; c < C; c++)
            {
                var cell = n * C + c;
                var scale = gamma[c] / Math.Sqrt(Math.Max(cellVar[cell], 0) + eps);
                for (var i = 0; i < L; i++) y[cell * L + i] = (X[cell * L + i] - cellMean[cell]) * scale + beta[c];
            }
        return y;
    }

    /// <summary>Normalizes with one pixel set's own statistics (a training-mode single-set layer).</summary>
    public double[] Normalize(Func<int, int, int> setOf, double[] gamma, double[] beta, double eps = 1e-5)
    {
        var (mean, var) = CellStatistics(setOf);
        return Normalize(mean, var, gamma, beta, eps);
    }

    /// <summary>Heterologous: the mean of set <paramref name="meanSet"/>, the variance of set <paramref name="stdSet"/> around its own mean.</summary>
    public double[] NormalizeHeterologous(Func<int, int, int> meanSet, Func<int, int, int> stdSet, double[] gamma, double[] beta, double eps = 1e-5) =>
        Normalize(CellStatistics(meanSet).Mean, CellStatistics(stdSet).Var, gamma, beta, eps);

    /// <summary>
    /// One momentum step of running statistics indexed by set id (0 .. size-1): running = (1 - m)·running + m·batch,
    /// the batch variance unbiased by the set's value count.
    /// </summary>
    public void UpdateRunning(Func<int, int, int> setOf, double[] runningMean, double[] runningVar, double momentum = 0.1)
    {
        var (mean, var, count) = SetStatistics(setOf);
        for (var id = 0; id < runningMean.Length; id++)
        {
            runningMean[id] = (1 - momentum) * runningMean[id] + momentum * mean[id];
            runningVar[id] = (1 - momentum) * runningVar[id] + momentum * var[id] * count[id] / (count[id] - 1);
        }
    }

    /// <summary>
    /// Inference example weighing for one cell: mu = a·m + (1-a)·rm, E2 = a·(v + m²) + (1-a)·(rv + rm²),
    /// var = E2 - mu² (the formula of docs/normalizers.md, as written).
    /// </summary>
    public static (double Mean, double Var) Mix(double alpha, double exampleMean, double exampleVar, double runningMean, double runningVar)
    {
        var mean = alpha * exampleMean + (1 - alpha) * runningMean;
        var secondMoment = alpha * (exampleVar + exampleMean * exampleMean) + (1 - alpha) * (runningVar + runningMean * runningMean);
        return (mean, secondMoment - mean * mean);
    }

    /// <summary>
    /// Inference statistics per [N·C] cell for a layer with <paramref name="groups"/> channel groups: the
    /// example's own moments over its group mixed by alpha with the group's running moments (one per group).
    /// </summary>
    public (double[] Mean, double[] Var) MixedCellStatistics(int groups, double[] groupRunningMean, double[] groupRunningVar, double alpha)
    {
        var (exampleMean, exampleVar) = CellStatistics(Group(groups));
        var mean = new double[N * C];
        var var = new double[N * C];
        for (var n = 0; n < N; n++)
            for (var c = 0; c < C; c++)
            {
                var g = c / (C / groups);
                (mean[n * C + c], var[n * C + c]) = Mix(alpha, exampleMean[n * C + c], exampleVar[n * C + c], groupRunningMean[g], groupRunningVar[g]);
            }
        return (mean, var);
    }

    /// <summary>
    /// A group's running moments from per-channel ones (docs/normalizers.md: mean_S = avg rm[c], E2_S = avg (rv[c] + rm[c]²)),
    /// returned as (mean, E2 - mean²) per group.
    /// </summary>
    public static (double[] Mean, double[] Var) GroupAverage(double[] channelMean, double[] channelVar, int groups)
    {
        var perGroup = channelMean.Length / groups;
        var mean = new double[groups];
        var var = new double[groups];
        for (var g = 0; g < groups; g++)
        {
            double sum = 0, squares = 0;
            for (var c = g * perGroup; c < (g + 1) * perGroup; c++)
            {
                sum += channelMean[c];
                squares += channelVar[c] + channelMean[c] * channelMean[c];
            }
            mean[g] = sum / perGroup;
            var[g] = squares / perGroup - mean[g] * mean[g];
        }
        return (mean, var);
    }

    /// <summary>Chunks of examples, contiguous, of <paramref name="size"/>; a last chunk of one example joins the one before when <paramref name="singleJoins"/>.</summary>
    public static int[] Chunks(int n, int size, bool singleJoins)
    {
        var chunkOf = new int[n];
        for (var i = 0; i < n; i++) chunkOf[i] = i / size;
        if (singleJoins && n % size == 1 && n > size) chunkOf[n - 1]--;
        return chunkOf;
    }
}
