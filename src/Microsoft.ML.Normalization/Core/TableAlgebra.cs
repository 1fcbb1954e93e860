namespace MLNetNormalization.Normalization.Core;

/// <summary>The per-(n, c) moments of a batch in .NET arrays: cell i = n·C + c, its mean and biased variance over its L pixels.</summary>
internal sealed record CellTables(double[] Mean, double[] Var, int Examples, int Channels, long Pixels)
{
    public int Count => Mean.Length;
}

/// <summary>
/// A running-moments update a training step makes: the batch's statistics over <paramref name="Set"/>, the variance unbiased
/// by the values per set unless <paramref name="AsGiven"/>.
/// </summary>
internal sealed record RunningUpdate(PixelSet Set, RunningMoments Target, bool AsGiven = false)
{
    /// <summary>
    /// Folds in the batch's statistics per set (each of <paramref name="valuesPerSet"/> values) as RunningMoments.Update
    /// (or UpdateAsGiven) does: a set of one value has no variance to unbias, and only its mean is folded in.
    /// </summary>
    public void FoldIn(double[] mean, double[] var, long valuesPerSet, double momentum)
    {
        TableAlgebra.LerpInto(Target.Mean, mean, momentum);
        if (AsGiven) TableAlgebra.LerpInto(Target.Var, var, momentum);
        else if (valuesPerSet > 1) TableAlgebra.LerpInto(Target.Var, Array.ConvertAll(var, v => v * (valuesPerSet / (double)(valuesPerSet - 1))), momentum);
    }
}

/// <summary>gamma and beta per channel, eps and momentum: what every layer's algebra reads besides the cell moments.</summary>
internal sealed record AffineSettings(double[] Gamma, double[] Beta, double Eps, double Momentum);

/// <summary>What a <see cref="TableAlgebra"/>'s forward computed: the per-cell affine, and whatever its backward needs (in subclasses).</summary>
internal abstract record TableForward(CellTables Cells, AffineSettings Affine, double[] Scale, double[] Shift);

/// <summary>
/// Gradients of the cell means and biased variances, of gamma and beta, and of the algebra's gating parameters (in the
/// order of <see cref="TableAlgebra.Gating"/>, shaped as they are). The cell-mean gradient leaves out the direct part
/// gB·A of B's dependence on the cell's own mean m, which y = (x - m)·A + B cancels against y's own dependence on m.
/// </summary>
internal sealed record TableGradients(double[] Mean, double[] Var, double[] Gamma, double[] Beta, IReadOnlyList<double[]> Gating);

/// <summary>
/// A layer's training statistics algebra (docs/normalizers.md, section 1, step 2) done in .NET arrays on the [N, C] cell
/// moments, with its backward written out: from the cell moments to the per-cell affine (A, B) of y = (x - m)·A + B, and
/// from the gradients of A and B back to those of the moments and the parameters; the running statistics are updated in
/// place. On tables this small each libtorch op costs microseconds of dispatch, allocation and autograd bookkeeping, far
/// more than its arithmetic, and a layer's algebra is dozens of them; here it is a few loops, and the layer issues a
/// fixed handful of native calls (<see cref="TableAffine"/>) whatever its sets, groups or modes. The layer's autograd
/// formulation (<see cref="CellAffineFunction"/> on its Affine) stays the reference the tests hold this to.
/// </summary>
internal abstract class TableAlgebra
{
    /// <summary>Parameters besides gamma and beta that the algebra reads and differentiates (SN's logits, MN's gates).</summary>
    public virtual IReadOnlyList<Parameter> Gating => [];

    public abstract TableForward Forward(CellTables cells, AffineSettings affine);

    /// <summary>
    /// Gradients from <paramref name="gradScale"/> = Σ_hw gy·(x - m) and <paramref name="gradShift"/> = Σ_hw gy, per cell.
    /// </summary>
    public abstract TableGradients Backward(TableForward forward, double[] gradScale, double[] gradShift);

    /// <summary>
    /// running = (1 - momentum)·running + momentum·batch, into a float64 buffer in place, as libtorch's lerp_ computes it
    /// (RunningMoments' update): running + momentum·(batch - running), or batch - (batch - running)·(1 - momentum) from 0.5 on.
    /// </summary>
    internal static void LerpInto(Tensor buffer, double[] batch, double momentum)
    {
        // The accessor takes one index per dimension: a buffer of more than one is read through a flat view.
        using var flat = buffer.dim() == 1 ? null : buffer.view(-1);
        var running = (flat ?? buffer).data<double>();
        for (var i = 0; i < batch.Length; i++)
            running[i] = momentum < 0.5 ? running[i] + momentum * (batch[i] - running[i]) : batch[i] - (batch[i] - running[i]) * (1 - momentum);
    }

    /// <summary>
    /// An example's moments mixed with running ones by <paramref name="alpha"/>, as <see cref="Pool.MixWithRunning"/>:
    /// alpha·mean + (1 - alpha)·running mean, and alpha·var + (1 - alpha)·running var + alpha·(1 - alpha)·(mean - running mean)².
    /// </summary>
    protected static (double Mean, double Var) MixWithRunning(double mean, double var, double runningMean, double runningVar, double alpha)
    {
        var difference = mean - runningMean;
        return (mean * alpha + runningMean * (1 - alpha), var * alpha + runningVar * (1 - alpha) + difference * difference * (alpha * (1 - alpha)));
    }

    /// <summary>(max(var, 0) + eps)^(-1/2), and the derivative's factor -r³/2 where var >= 0 (clamp passes no gradient below 0), else 0.</summary>
    protected static (double Rsqrt, double Derivative) InverseStd(double var, double eps)
    {
        var r = 1 / Math.Sqrt(Math.Max(var, 0) + eps);
        return (r, var >= 0 ? -0.5 * r * r * r : 0);
    }

    /// <summary>Replaces a row of logits by their log_softmax, and writes their softmax into <paramref name="softmax"/>.</summary>
    protected static void LogSoftmax(Span<double> logits, Span<double> softmax)
    {
        var largest = double.NegativeInfinity;
        foreach (var logit in logits) largest = Math.Max(largest, logit);
        var total = 0.0;
        foreach (var logit in logits) total += Math.Exp(logit - largest);
        var logTotal = largest + Math.Log(total);
        for (var k = 0; k < logits.Length; k++)
        {
            logits[k] -= logTotal;
            softmax[k] = Math.Exp(logits[k]);
        }
    }

    /// <summary>A float32 or float64 parameter's or buffer's values as doubles.</summary>
    protected static double[] Values(Tensor tensor) => TableAffine.Read(tensor);
}
