namespace MLNetNormalization.Normalization.Core;

/// <summary>
/// A layer's statistics algebra (docs/normalizers.md, section 1, step 2): from the cell moments to the per-cell affine (A, B) of
/// y = (x - m)·A + B, as [N, C] float64 tables, differentiable in the moments and the layer's parameters.
/// </summary>
internal delegate (Tensor Scale, Tensor Shift) CellAffineAlgebra(CellMoments cells);

/// <summary>
/// The moments of each (n, c) cell of an NCHW input as [N, C] float64 tables, the input centred on an estimate of each
/// cell's mean (in the input's type and shape), and the float64 offset of the true mean from that estimate:
/// x - m = Centred - Offset.
/// </summary>
internal sealed record MeasuredCells(Tensor Mean, Tensor Var, Tensor Centred, Tensor Offset);

/// <summary>
/// The general path of docs/normalizers.md, section 1, on an NCHW batch: cell moments, the layer's algebra on them, and
/// y = (x - m)·A + B, centred on each cell's own mean m so that an input far from zero (an offset of 1e4 in float32)
/// keeps its precision, which x·A + (B - m·A) would cancel.
/// </summary>
internal static class CellAffine
{
    /// <summary>
    /// y for <paramref name="input"/> [N, C, H, W]. Through one autograd node (<see cref="CellAffineFunction"/>) when a
    /// gradient is wanted of the input or of any of <paramref name="parameters"/> (those the algebra reads), else
    /// without recording a graph.
    /// </summary>
    public static Tensor Apply(Tensor input, CellAffineAlgebra algebra, IReadOnlyList<Tensor> parameters)
    {
        if (is_grad_enabled() && (input.requires_grad || parameters.Any(p => p.requires_grad)))
            return CellAffineFunction.apply([input, algebra, .. parameters]);
        var cells = Measure(input);
        var (scale, shift) = algebra(CellMoments.FromTables(cells.Mean, cells.Var, input.shape));
        return Output(cells, scale, shift);
    }

    /// <summary>
    /// The cell moments by the corrected two-pass method: the input is centred on a first estimate of each cell's mean
    /// (libtorch's mean, summed in the input's type), and the moments of the centred values, which are small, correct it:
    /// mean = estimate + mean(x - estimate), var = mean((x - estimate)²) - mean(x - estimate)², in float64. As exact as
    /// Welford in double (an offset of 1e4 loses nothing: the centred values are exact differences), and it reads the big
    /// tensor in fast vectorized reductions, where libtorch's var_mean (Welford) took several times as long as the whole output pass.
    /// </summary>
    internal static MeasuredCells Measure(Tensor x)
    {
        var (estimate, centred, centredMean, centredMeanSquare) = CentredMoments(x);
        var offset = centredMean.to(ScalarType.Float64);
        var meanSquare = centredMeanSquare.to(ScalarType.Float64);
        var mean = estimate.view(x.shape[0], x.shape[1]).to(ScalarType.Float64) + offset;
        return new(mean, meanSquare - offset.square(), centred, offset);
    }

    /// <summary>
    /// The passes over the big tensor that <see cref="Measure"/> makes, in the input's type: each cell's mean estimate
    /// [N, C, 1, 1], the input centred on it, and the centred values' mean and mean square per cell, [N, C].
    /// </summary>
    internal static (Tensor Estimate, Tensor Centred, Tensor CentredMean, Tensor CentredMeanSquare) CentredMoments(Tensor x)
    {
        var estimate = x.mean([2, 3], keepdim: true);
        var centred = x - estimate;
        return (estimate, centred, centred.mean([2, 3]), centred.square().mean([2, 3]));
    }

    /// <summary>y = (x - m)·A + B, written on the centred input as (x - estimate)·A + (B - offset·A).</summary>
    internal static Tensor Output(MeasuredCells cells, Tensor scale, Tensor shift)
    {
        var cell = CellShape(cells.Centred);
        var type = cells.Centred.dtype;
        return addcmul((shift - cells.Offset * scale).to(type).view(cell), cells.Centred, scale.to(type).view(cell), 1);
    }

    internal static long[] CellShape(Tensor x) => [x.shape[0], x.shape[1], 1, 1];
}

/// <summary>
/// (x, algebra, parameters...) → y = (x - m)·A + B as one autograd node. The forward keeps the algebra's small float64
/// graph from (m, v) and the parameters to (A, B); the backward reads the big tensors in two reductions and two
/// elementwise passes: gB = Σ_hw gy and gA = Σ_hw gy·(x - m) per cell; autograd over the small graph turns them into
/// gm, gv and the parameters' gradients; then, from the backward of docs/normalizers.md, section 1,
/// gx = gy·A + (x - m)·2·gv/L + (gm - A·Σ_hw gy)/L, the last term being y's own dependence on the m it is centred on.
/// Composed of libtorch ops, autograd would also materialize gy·A and subtract its cell sums in passes of their own.
/// First derivatives only: the backward is not itself differentiable.
/// </summary>
internal sealed class CellAffineFunction : autograd.SingleTensorFunction<CellAffineFunction>
{
    private const string ParameterCount = "parameters";

    public override string Name => nameof(CellAffineFunction);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var algebra = (CellAffineAlgebra)vars[1];
        var parameters = vars.Skip(2).Cast<Tensor>().ToList();
        var cells = CellAffine.Measure(x);
        Tensor scale, shift;
        // TorchSharp runs forward without grad mode; the small graph is recorded here for the backward to differentiate.
        using (enable_grad())
        {
            cells.Mean.requires_grad_(true);
            cells.Var.requires_grad_(true);
            (scale, shift) = algebra(CellMoments.FromTables(cells.Mean, cells.Var, x.shape));
        }
        ctx.save_for_backward([cells.Centred, cells.Offset, cells.Mean, cells.Var, scale, shift, .. parameters]);
        ctx.save_data(ParameterCount, parameters.Count);
        return CellAffine.Output(cells, scale.detach(), shift.detach());
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        var (centred, offset, mean, var, scale, shift) = (saved[0], saved[1], saved[2], saved[3], saved[4], saved[5]);
        var parameters = saved.Skip(6).Take((int)ctx.get_data(ParameterCount)!).ToList();
        // x - m = centred - offset, per cell.
        var gradShift = gradOutput.sum([2, 3]).to(ScalarType.Float64);
        var gradScale = (gradOutput * centred).sum([2, 3]).to(ScalarType.Float64) - offset * gradShift;

        // Differentiated with respect to the moments and the parameters that require grad.
        var wanted = new List<Tensor> { mean, var };
        wanted.AddRange(parameters.Where(p => p.requires_grad));
        var (outputs, outputGradients) = (new List<Tensor>(), new List<Tensor>());
        if (scale.requires_grad) { outputs.Add(scale); outputGradients.Add(gradScale); }
        if (shift.requires_grad) { outputs.Add(shift); outputGradients.Add(gradShift); }
        var gradients = outputs.Count == 0 ? wanted.Select(_ => (Tensor?)null).ToList()
            : autograd.grad(outputs, wanted, outputGradients, allow_unused: true).Select(Defined).ToList();

        // gx = gy·A + (centred - offset)·K + J, with K = 2·gv/L and J = (gm - A·Σ_hw gy)/L.
        double pixels = centred.shape[2] * centred.shape[3];
        var type = centred.dtype;
        var cell = CellAffine.CellShape(centred);
        var constant = ((gradients[0] ?? zeros_like(gradShift)) - scale.detach() * gradShift) / pixels;
        var slope = gradients[1] is { } gradVar ? gradVar * (2 / pixels) : null;
        if (slope is not null) constant = constant - offset * slope;
        var gradInput = addcmul(constant.to(type).view(cell), gradOutput, scale.detach().to(type).view(cell), 1);
        if (slope is not null) gradInput.addcmul_(centred, slope.to(type).view(cell), 1);

        var result = new List<Tensor> { gradInput.MoveToOuterDisposeScope(), null! };
        var next = 2;
        foreach (var parameter in parameters)
            result.Add(parameter.requires_grad && gradients[next++] is { } gradient ? gradient.MoveToOuterDisposeScope() : null!);
        return result;
    }

    // A tensor nothing depended on comes back from autograd.grad(allow_unused) without a native handle.
    private static Tensor? Defined(Tensor? gradient) => gradient is null || gradient.IsInvalid ? null : gradient;
}
