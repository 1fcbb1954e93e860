namespace MLNetNormalization.Normalization.Core;

/// <summary>A mean and a biased variance, as float64 tables of any shape.</summary>
internal readonly record struct MeanVar(Tensor Mean, Tensor Var);

/// <summary>
/// The per-(n, c) moments of a batch: mean and biased variance over each cell's L = H*W pixels, as [N, C] float64
/// tables (docs/normalizers.md, section 1, step 1), with the NCHW shape they were measured on.
/// </summary>
internal sealed class CellMoments
{
    private CellMoments(Tensor mean, Tensor var, long[] shape)
    {
        Mean = mean;
        Var = var;
        Shape = shape;
    }

    /// <summary>[N, C] float64 cell means.</summary>
    public Tensor Mean { get; }

    /// <summary>[N, C] float64 biased cell variances.</summary>
    public Tensor Var { get; }

    public long[] Shape { get; }
    public long N => Shape[0];
    public long C => Shape[1];
    public long PixelsPerCell => Shape[2] * Shape[3];

    /// <summary>
    /// Measures the moments of an NCHW input as the layers do (<see cref="CellAffine.Measure"/>); differentiable through
    /// autograd when the input requires grad.
    /// </summary>
    public static CellMoments Of(Tensor x)
    {
        var cells = CellAffine.Measure(x);
        return new CellMoments(cells.Mean, cells.Var, x.shape);
    }

    /// <summary>
    /// Cell moments given as [N, C] float64 tables for an input of <paramref name="inputShape"/> (NCHW), rather
    /// than measured: what a layer's statistics algebra is evaluated on to read off its affine for chosen moments.
    /// </summary>
    internal static CellMoments FromTables(Tensor mean, Tensor var, long[] inputShape)
    {
        if (inputShape.Length != 4 || !mean.shape.SequenceEqual(inputShape[..2]) || !var.shape.SequenceEqual(inputShape[..2]))
            throw new ArgumentException(
                $"Cell moment tables must be [N, C] of an NCHW input shape; got mean [{string.Join(", ", mean.shape)}] and var [{string.Join(", ", var.shape)}] " +
                $"for input [{string.Join(", ", inputShape)}].", nameof(inputShape));
        if (mean.dtype != ScalarType.Float64 || var.dtype != ScalarType.Float64)
            throw new ArgumentException($"Cell moment tables are float64 (got {mean.dtype} and {var.dtype}); convert them with to(ScalarType.Float64).", nameof(mean));
        return new CellMoments(mean, var, inputShape);
    }

    public MeanVar AsMeanVar => new(Mean, Var);
}

/// <summary>Pooling of (mean, var) pairs by Chan's combination: exact, and free of E[x²] cancellation.</summary>
internal static class Pool
{
    /// <summary>
    /// Sets of equally many pixels along <paramref name="dim"/>: the mean of the means, and the mean of the variances
    /// plus the biased variance of the means (= mean of (var + (mean - pooled mean)²)).
    /// </summary>
    public static MeanVar Equal(MeanVar moments, long dim, bool keepDim = false)
    {
        var (varianceOfMeans, mean) = var_mean(moments.Mean, [dim], unbiased: false, keepdim: keepDim);
        return new(mean, moments.Var.mean([dim], keepdim: keepDim) + varianceOfMeans);
    }

    /// <summary>
    /// Weighted pooling of [..., R, D] moments over the R rows into K sets, by non-negative [..., R, K]
    /// weights: mu[k] = Σ w m / Σ w, var[k] = Σ w (v + (m - mu[k])²) / Σ w, as [..., K, D]. A set whose
    /// weights sum to about zero (a collapsed mode) gets finite statistics instead of 0/0.
    /// </summary>
    public static MeanVar Weighted(MeanVar moments, Tensor weights)
    {
        var normalized = weights / weights.sum([-2], keepdim: true).clamp(min: CollapsedWeight);
        var transposed = normalized.transpose(-2, -1);
        var mean = transposed.matmul(moments.Mean);
        var spread = (moments.Mean.unsqueeze(-2) - mean.unsqueeze(-3)).square().mul(normalized.unsqueeze(-1)).sum([-3]);
        return new(mean, transposed.matmul(moments.Var) + spread);
    }

    /// <summary>Below this total weight a set counts as empty.</summary>
    public const double CollapsedWeight = 1e-12;

    /// <summary>
    /// Inference example weighing ("Four Things Everyone Should Know to Improve Batch Normalization", arXiv:1906.03548, section 3.1): the example's own moments mixed with the
    /// running ones, mu = a·m + (1-a)·rm, var = a·(v + m²) + (1-a)·(rv + rm²) - mu², written in the
    /// equivalent cancellation-free form a·v + (1-a)·rv + a(1-a)(m - rm)². a = 0 and a = 1 return the
    /// running or the example moments exactly.
    /// </summary>
    public static MeanVar MixWithRunning(MeanVar example, MeanVar running, double alpha)
    {
        if (alpha == 0) return running;
        if (alpha == 1) return example;
        var mean = example.Mean * alpha + running.Mean * (1 - alpha);
        var var = example.Var * alpha + running.Var * (1 - alpha) + (example.Mean - running.Mean).square() * (alpha * (1 - alpha));
        return new(mean, var);
    }
}
