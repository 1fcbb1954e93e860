namespace MLNetNormalization.TorchBinding.NN;

/// <summary>Weight initializations (PyTorch's torch.nn.init), filling tensors in place without recording gradients.</summary>
public static class Init
{
    /// <summary>Fan-in of a Linear (out, in) or Conv (out, in/groups, kH, kW) weight.</summary>
    public static long FanIn(Tensor weight)
    {
        var shape = weight.Shape;
        if (shape.Length < 2)
            throw new ArgumentException($"fan-in needs a weight of rank >= 2, got [{string.Join(", ", shape)}].", nameof(weight));
        return shape.Skip(1).Aggregate(1L, (a, b) => a * b);
    }

    public static long FanOut(Tensor weight)
    {
        var shape = weight.Shape;
        if (shape.Length < 2)
            throw new ArgumentException($"fan-out needs a weight of rank >= 2, got [{string.Join(", ", shape)}].", nameof(weight));
        return shape[0] * shape.Skip(2).Aggregate(1L, (a, b) => a * b);
    }

    public static Tensor Uniform(Tensor tensor, double low, double high, Generator? generator = null)
    {
        using var noGrad = Torch.NoGrad();
        return tensor.Uniform(low, high, generator);
    }

    public static Tensor Normal(Tensor tensor, double mean, double std, Generator? generator = null)
    {
        using var noGrad = Torch.NoGrad();
        return tensor.Normal(mean, std, generator);
    }

    public static Tensor Constant(Tensor tensor, double value)
    {
        using var noGrad = Torch.NoGrad();
        return tensor.Fill(value);
    }

    /// <summary>He uniform for a leaky ReLU of slope a: bound = sqrt(6 / ((1 + a²) fan_in)).</summary>
    public static Tensor KaimingUniform(Tensor weight, double a = 0, Generator? generator = null)
    {
        var bound = Math.Sqrt(6.0 / ((1 + a * a) * FanIn(weight)));
        return Uniform(weight, -bound, bound, generator);
    }

    /// <summary>He normal for ReLU: std = sqrt(2 / fan), fan_in or fan_out.</summary>
    public static Tensor KaimingNormal(Tensor weight, bool fanOut = false, Generator? generator = null)
    {
        var fan = fanOut ? FanOut(weight) : FanIn(weight);
        return Normal(weight, 0, Math.Sqrt(2.0 / fan), generator);
    }
}
