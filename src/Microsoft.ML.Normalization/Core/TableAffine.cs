namespace MLNetNormalization.Normalization.Core;

/// <summary>
/// The general path of docs/normalizers.md, section 1, with the statistics algebra in .NET arrays
/// (<see cref="TableAlgebra"/>) instead of libtorch ops on small tables: the big tensor is read in the same
/// passes as <see cref="CellAffine"/> reads it, and a layer issues a fixed handful of native calls whatever its sets,
/// groups or mixture (forward: the cell moments, two tables in, one addcmul; backward: two reductions, four tables in,
/// two addcmuls). For CPU tensors, whose moments .NET reads in place: in training, and at inference where no gradient is
/// wanted (an inference algebra has no backward).
/// </summary>
internal static class TableAffine
{
    /// <summary>y for <paramref name="input"/> [N, C, H, W] of <paramref name="layer"/> on the CPU, through one autograd node where a gradient is wanted.</summary>
    public static Tensor Apply(NormalizationLayer layer, Tensor input, TableAlgebra algebra)
    {
        var parameters = new List<Tensor> { layer.Weight, layer.Bias };
        parameters.AddRange(algebra.Gating);
        if (is_grad_enabled() && (input.requires_grad || parameters.Any(p => p.requires_grad)))
            return TableAffineFunction.apply([input, layer, algebra, .. parameters]);
        var (centred, offset, forward) = Forward(layer, input, algebra);
        return Output(centred, offset, forward, CellTable(forward.Scale, centred));
    }

    /// <summary>The cell moments by <see cref="CellAffine.Measure"/>'s corrected two-pass method, then the algebra on them.</summary>
    internal static (Tensor Centred, double[] Offset, TableForward Forward) Forward(NormalizationLayer layer, Tensor input, TableAlgebra algebra)
    {
        var shape = input.shape;
        var (estimate, centred, centredMean, centredMeanSquare) = CellAffine.CentredMoments(input);
        var (offset, meanSquare, mean) = (Read(centredMean), Read(centredMeanSquare), Read(estimate));
        var var = new double[mean.Length];
        for (var i = 0; i < mean.Length; i++)
        {
            mean[i] += offset[i];
            var[i] = meanSquare[i] - offset[i] * offset[i];
            if (!double.IsFinite(var[i])) throw layer.NonFiniteInput(shape);
        }
        var forward = algebra.Forward(new CellTables(mean, var, (int)shape[0], (int)shape[1], shape[2] * shape[3]),
                                      new AffineSettings(Read(layer.Weight), Read(layer.Bias), layer.Eps, layer.Momentum));
        return (centred, offset, forward);
    }

    /// <summary>y = (x - m)·A + B, written on the centred input as (x - estimate)·A + (B - offset·A); <paramref name="scale"/> is A as a cell table.</summary>
    internal static Tensor Output(Tensor centred, double[] offset, TableForward forward, Tensor scale)
    {
        var shift = new double[offset.Length];
        for (var i = 0; i < shift.Length; i++) shift[i] = forward.Shift[i] - offset[i] * forward.Scale[i];
        return addcmul(CellTable(shift, centred), centred, scale, 1);
    }

    /// <summary>A float32 or float64 CPU tensor's values as doubles, in row-major order.</summary>
    internal static double[] Read(Tensor table) => table.dtype switch
    {
        ScalarType.Float64 => table.data<double>().ToArray(),
        ScalarType.Float32 => Array.ConvertAll(table.data<float>().ToArray(), value => (double)value),
        _ => throw new ArgumentException($"Expected a Float32 or Float64 tensor, got {table.dtype}.", nameof(table)),
    };

    /// <summary>Per-cell values as an [N, C, 1, 1] tensor of <paramref name="like"/>'s type.</summary>
    internal static Tensor CellTable(double[] values, Tensor like) => Table(values, [like.shape[0], like.shape[1], 1, 1], like.dtype);

    internal static Tensor Table(double[] values, long[] shape, ScalarType type) => type == ScalarType.Float32
        ? tensor(Array.ConvertAll(values, value => (float)value), shape)
        : tensor(values, shape, ScalarType.Float64);
}

/// <summary>
/// (x, layer, algebra, gamma, beta, gating parameters...) → y as one autograd node. The backward reads the big tensors in
/// two reductions and two elementwise passes, as <see cref="CellAffineFunction"/>'s, with the statistics algebra's
/// backward written out in <see cref="TableAlgebra.Backward"/> rather than recorded and differentiated by autograd.
/// First derivatives only.
/// </summary>
internal sealed class TableAffineFunction : autograd.SingleTensorFunction<TableAffineFunction>
{
    private const string Saved = "forward", SavedOffset = "offset";

    public override string Name => nameof(TableAffineFunction);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (input, layer, algebra) = ((Tensor)vars[0], (NormalizationLayer)vars[1], (TableAlgebra)vars[2]);
        var (centred, offset, forward) = TableAffine.Forward(layer, input, algebra);
        var scale = TableAffine.CellTable(forward.Scale, centred);
        ctx.save_for_backward([centred, scale, .. vars.Skip(3).Cast<Tensor>()]);
        ctx.save_data(Saved, (algebra, forward));
        ctx.save_data(SavedOffset, offset);
        return TableAffine.Output(centred, offset, forward, scale);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        var (centred, scale) = (saved[0], saved[1]);
        var parameters = saved.Skip(2).ToList();
        var (algebra, forward) = ((TableAlgebra, TableForward))ctx.get_data(Saved)!;
        var offset = (double[])ctx.get_data(SavedOffset)!;

        // x - m = centred - offset, per cell.
        var gradShift = TableAffine.Read(gradOutput.sum([2, 3]));
        var gradScale = TableAffine.Read((gradOutput * centred).sum([2, 3]));
        for (var i = 0; i < gradScale.Length; i++) gradScale[i] -= offset[i] * gradShift[i];
        var gradients = algebra.Backward(forward, gradScale, gradShift);

        // gx = gy·A + (centred - offset)·K + J, with K = 2·gv/L and J = (gm - A·Σ_hw gy)/L, where the gm of the
        // backward leaves out the A·Σ_hw gy that J takes off again.
        double pixels = forward.Cells.Pixels;
        var (slope, constant) = (new double[offset.Length], new double[offset.Length]);
        for (var i = 0; i < offset.Length; i++)
        {
            slope[i] = gradients.Var[i] * (2 / pixels);
            constant[i] = gradients.Mean[i] / pixels - offset[i] * slope[i];
        }
        var gradInput = addcmul(TableAffine.CellTable(constant, centred), gradOutput, scale, 1);
        gradInput.addcmul_(centred, TableAffine.CellTable(slope, centred), 1);

        var parameterGradients = new List<double[]> { gradients.Gamma, gradients.Beta };
        parameterGradients.AddRange(gradients.Gating);
        var result = new List<Tensor> { gradInput.MoveToOuterDisposeScope(), null!, null! };
        for (var p = 0; p < parameters.Count; p++)
            result.Add(parameters[p].requires_grad
                ? TableAffine.Table(parameterGradients[p], parameters[p].shape, parameters[p].dtype).MoveToOuterDisposeScope()
                : null!);
        return result;
    }
}
