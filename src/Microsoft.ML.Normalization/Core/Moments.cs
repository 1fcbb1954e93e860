using TorchSharp;
using static TorchSharp.torch;

namespace MLNetNormalization.Normalization.Core;

/// <summary>A mean and a biased variance, as float64 tables of any shape.</summary>
public readonly record struct MeanVar(Tensor Mean, Tensor Var);

/// <summary>
/// The per-(n, c) moments of a batch: mean and biased variance over each cell's L = H*W pixels,
/// as [N, C] float64 tables (spec section 1, step 1), and the input centred on them, x - m, which the
/// output is computed from.
/// </summary>
public sealed class CellMoments
{
    private CellMoments(Tensor mean, Tensor var, Tensor? centred, long[] shape)
    {
        Mean = mean;
        Var = var;
        Centred = centred;
        Shape = shape;
    }

    /// <summary>[N, C] float64 cell means.</summary>
    public Tensor Mean { get; }

    /// <summary>[N, C] float64 biased cell variances.</summary>
    public Tensor Var { get; }

    /// <summary>x - m in the input's type and shape, m being exactly <see cref="Mean"/> rounded to it (null for given tables).</summary>
    private Tensor? Centred { get; }

    public long[] Shape { get; }
    public long N => Shape[0];
    public long C => Shape[1];
    public long PixelsPerCell => Shape[2] * Shape[3];

    /// <summary>
    /// Measures the moments with libtorch's var_mean over each plane (accumulated in double on the CPU) and centres the
    /// input on them, in one autograd node (<see cref="CentredMomentsFunction"/>); the tables are the moments widened
    /// to float64, so they hold exactly the means the input is centred on.
    /// </summary>
    public static CellMoments Of(Tensor x)
    {
        var outputs = CentredMomentsFunction.apply(x);
        return new CellMoments(outputs[0].to(ScalarType.Float64), outputs[1].to(ScalarType.Float64), outputs[2], x.shape);
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
        return new CellMoments(mean, var, null, inputShape);
    }

    public MeanVar AsMeanVar => new(Mean, Var);

    /// <summary>
    /// y = (x - m)·A + B per cell, for [N, C] float64 tables A and B (spec section 1, step 3): centred on the cell's own
    /// mean m so that an input far from zero (an offset of 1e4 in float32) keeps its precision, which x·A + (B - m·A)
    /// would cancel.
    /// </summary>
    public Tensor Apply(Tensor scale, Tensor shift)
    {
        if (Centred is null) throw new InvalidOperationException("Given moment tables were not measured on an input; apply the affine to moments measured on one.");
        var cell = new long[] { N, C, 1, 1 };
        return addcmul(shift.to(Centred.dtype).view(cell), Centred, scale.to(Centred.dtype).view(cell), 1);
    }
}

/// <summary>
/// (x) → (m, v, x - m) per (n, c) cell of an NCHW tensor, m and v [N, C] in x's type, with the backward of spec section
/// 1 written out: from the centred output's gradient g, gx = g - Σ_hw g / L + gm / L + (x - m)·2·gv / L. Autograd's own
/// composition of var_mean and a broadcast subtraction recomputes x - mean(x) and makes three more full-size tensors.
/// </summary>
internal sealed class CentredMomentsFunction : autograd.MultiTensorFunction<CentredMomentsFunction>
{
    public override string Name => nameof(CentredMomentsFunction);

    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var (var, mean) = var_mean(x, [2, 3], unbiased: false);
        var centred = x - mean.view(mean.shape[0], mean.shape[1], 1, 1);
        ctx.save_for_backward([centred]);
        // Unused outputs' gradients stay null rather than being made as zeros like the outputs, which a caller's
        // dispose scope may already have freed.
        ctx.set_materialize_grads(false);
        return [mean, var, centred];
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
    {
        var centred = ctx.get_saved_variables()[0];
        var (gradMean, gradVar, gradCentred) = (Defined(grad_outputs[0]), Defined(grad_outputs[1]), Defined(grad_outputs[2]));
        var shape = centred.shape;
        var cell = new long[] { shape[0], shape[1], 1, 1 };
        double pixels = shape[2] * shape[3];
        var gradInput = gradCentred is null ? zeros_like(centred) : gradCentred - gradCentred.sum([2, 3], keepdim: true) / pixels;
        if (gradVar is not null) gradInput = gradInput.addcmul_(centred, (gradVar * (2 / pixels)).view(cell), 1);
        if (gradMean is not null) gradInput = gradInput.add_((gradMean / pixels).view(cell));
        return [gradInput];
    }

    // An output that nothing downstream used gets an undefined gradient: a tensor without a native handle.
    private static Tensor? Defined(Tensor? gradient) => gradient is null || gradient.IsInvalid ? null : gradient;
}

/// <summary>Pooling of (mean, var) pairs by Chan's combination: exact, and free of E[x²] cancellation.</summary>
public static class Pool
{
    /// <summary>Sets of equally many pixels along <paramref name="dim"/>: mean of means, mean of (var + (mean - pooled mean)²).</summary>
    public static MeanVar Equal(MeanVar moments, long dim, bool keepDim = false)
    {
        var mean = moments.Mean.mean([dim], keepdim: true);
        var var = (moments.Var + (moments.Mean - mean).square()).mean([dim], keepdim: true);
        return keepDim ? new(mean, var) : new(mean.squeeze(dim), var.squeeze(dim));
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
    /// Inference example weighing (seed "four things" 3.1): the example's own moments mixed with the
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
