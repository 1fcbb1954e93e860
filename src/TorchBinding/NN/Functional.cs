namespace MLNetNormalization.TorchBinding.NN;

/// <summary>How a loss combines its per-example values.</summary>
public enum Reduction
{
    None = 0,
    Mean = 1,
    Sum = 2,
}

/// <summary>Stateless network operations (PyTorch's torch.nn.functional), all differentiable.</summary>
public static unsafe class Functional
{
    /// <summary>input @ weightᵀ + bias.</summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null) =>
        new(Native.mln_linear(input.Handle, weight.Handle, bias?.Handle ?? IntPtr.Zero));

    /// <summary>2-D convolution of NCHW input with an (out, in/groups, kH, kW) weight.</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, (long H, long W)? stride = null,
                                (long H, long W)? padding = null, (long H, long W)? dilation = null, long groups = 1)
    {
        var s = stride ?? (1, 1);
        var p = padding ?? (0, 0);
        var d = dilation ?? (1, 1);
        long* strides = stackalloc long[] { s.H, s.W };
        long* paddings = stackalloc long[] { p.H, p.W };
        long* dilations = stackalloc long[] { d.H, d.W };
        return new(Native.mln_conv2d(input.Handle, weight.Handle, bias?.Handle ?? IntPtr.Zero, strides, paddings, dilations, groups));
    }

    /// <summary>Max pooling; stride defaults to the kernel size.</summary>
    public static Tensor MaxPool2d(Tensor input, (long H, long W) kernel, (long H, long W)? stride = null,
                                   (long H, long W)? padding = null, bool ceilMode = false)
    {
        var s = stride ?? kernel;
        var p = padding ?? (0, 0);
        long* kernels = stackalloc long[] { kernel.H, kernel.W };
        long* strides = stackalloc long[] { s.H, s.W };
        long* paddings = stackalloc long[] { p.H, p.W };
        return new(Native.mln_max_pool2d(input.Handle, kernels, strides, paddings, ceilMode ? 1 : 0));
    }

    /// <summary>Average pooling; stride defaults to the kernel size.</summary>
    public static Tensor AvgPool2d(Tensor input, (long H, long W) kernel, (long H, long W)? stride = null,
                                   (long H, long W)? padding = null, bool ceilMode = false, bool countIncludePad = true)
    {
        var s = stride ?? kernel;
        var p = padding ?? (0, 0);
        long* kernels = stackalloc long[] { kernel.H, kernel.W };
        long* strides = stackalloc long[] { s.H, s.W };
        long* paddings = stackalloc long[] { p.H, p.W };
        return new(Native.mln_avg_pool2d(input.Handle, kernels, strides, paddings, ceilMode ? 1 : 0, countIncludePad ? 1 : 0));
    }

    public static Tensor AdaptiveAvgPool2d(Tensor input, (long H, long W) outputSize)
    {
        long* size = stackalloc long[] { outputSize.H, outputSize.W };
        return new(Native.mln_adaptive_avg_pool2d(input.Handle, size));
    }

    /// <summary>Zeroes elements with probability p and scales the rest by 1/(1-p) when training; identity otherwise.</summary>
    public static Tensor Dropout(Tensor input, double probability, bool training) =>
        new(Native.mln_dropout(input.Handle, probability, training ? 1 : 0));

    public static Tensor Relu(Tensor input) => input.Relu();

    public static Tensor Softmax(Tensor input, long dim) => new(Native.mln_softmax(input.Handle, dim));

    public static Tensor LogSoftmax(Tensor input, long dim) => new(Native.mln_log_softmax(input.Handle, dim));

    /// <summary>Cross entropy of (N, classes) logits against Int64 class indices, with optional label smoothing.</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean,
                                      long ignoreIndex = -100, double labelSmoothing = 0) =>
        new(Native.mln_cross_entropy(logits.Handle, target.Handle, weight?.Handle ?? IntPtr.Zero, (int)reduction, ignoreIndex, labelSmoothing));

    public static Tensor NllLoss(Tensor logProbabilities, Tensor target, Reduction reduction = Reduction.Mean) =>
        new(Native.mln_nll_loss(logProbabilities.Handle, target.Handle, (int)reduction));

    /// <summary>(before, after) padding pairs from the last dimension backwards, as torch.nn.functional.pad.</summary>
    public static Tensor Pad(Tensor input, ReadOnlySpan<long> pad, double value = 0)
    {
        fixed (long* p = pad) return new(Native.mln_constant_pad(input.Handle, p, pad.Length, value));
    }

    /// <summary>
    /// y[n,c,...] = (x[n,c,...] - mean[n,c]) * scale[n,c] + shift[n,c] in one pass, differentiable in all four;
    /// the statistics tables are [N, C] of any float type. The backward's per-plane sums,
    /// sum gy·(x - mean) and sum gy, are centred and accumulated in double, so a large offset in x costs no precision.
    /// </summary>
    public static Tensor CenteredAffine(Tensor input, Tensor mean, Tensor scale, Tensor shift) =>
        new(Native.mln_centered_plane_affine(input.Handle, mean.Handle, scale.Handle, shift.Handle));

    /// <summary>
    /// Mean and biased variance of every (n, c) plane of an [N, C, ...] input, as [N, C] float64 tables
    /// (two passes per plane in double on the CPU; libtorch's var_mean elsewhere). Its backward,
    /// gx = gm/L + gv·2(x - m)/L, is one pass over x.
    /// </summary>
    public static (Tensor Mean, Tensor Var) CellMoments(Tensor input)
    {
        IntPtr mean, variance;
        Native.Check(Native.mln_cell_moments(input.Handle, &mean, &variance));
        return (new Tensor(mean), new Tensor(variance));
    }

    // libtorch's own normalization kernels: the BatchNorm2d module's engine, and oracles for our layers.

    /// <summary>libtorch's batch_norm; in training it updates the running statistics in place.</summary>
    public static Tensor BatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null,
                                   bool training = false, double momentum = 0.1, double eps = 1e-5) =>
        new(Native.mln_batch_norm(input.Handle, weight?.Handle ?? IntPtr.Zero, bias?.Handle ?? IntPtr.Zero,
            runningMean?.Handle ?? IntPtr.Zero, runningVar?.Handle ?? IntPtr.Zero, training ? 1 : 0, momentum, eps));

    public static Tensor GroupNorm(Tensor input, long groups, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5) =>
        new(Native.mln_group_norm(input.Handle, groups, weight?.Handle ?? IntPtr.Zero, bias?.Handle ?? IntPtr.Zero, eps));

    public static Tensor InstanceNorm(Tensor input, Tensor? runningMean = null, Tensor? runningVar = null, Tensor? weight = null,
                                      Tensor? bias = null, bool useInputStats = true, double momentum = 0.1, double eps = 1e-5) =>
        new(Native.mln_instance_norm(input.Handle, weight?.Handle ?? IntPtr.Zero, bias?.Handle ?? IntPtr.Zero,
            runningMean?.Handle ?? IntPtr.Zero, runningVar?.Handle ?? IntPtr.Zero, useInputStats ? 1 : 0, momentum, eps));

    /// <summary>Normalizes over the trailing dimensions given by <paramref name="normalizedShape"/>.</summary>
    public static Tensor LayerNorm(Tensor input, ReadOnlySpan<long> normalizedShape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        fixed (long* s = normalizedShape)
            return new(Native.mln_layer_norm(input.Handle, s, normalizedShape.Length, weight?.Handle ?? IntPtr.Zero, bias?.Handle ?? IntPtr.Zero, eps));
    }
}
