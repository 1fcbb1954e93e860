namespace MLNetNormalization.TorchBinding.NN;

/// <summary>2-D convolution with PyTorch's default init (uniform weight and bias, bound 1/sqrt(fan_in)).</summary>
public sealed class Conv2d : Module
{
    public Conv2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0,
                  long dilation = 1, long groups = 1, bool bias = true)
        : this(Torch.Zeros([outChannels, CheckedInChannelsPerGroup(inChannels, outChannels, groups), kernelSize, kernelSize]),
               bias ? Torch.Zeros([outChannels]) : null, stride, padding, dilation, groups)
    {
        var bound = 1 / Math.Sqrt(Init.FanIn(Weight));
        Init.Uniform(Weight, -bound, bound);
        if (Bias is not null) Init.Uniform(Bias, -bound, bound);
    }

    private Conv2d(Tensor weight, Tensor? bias, long stride, long padding, long dilation, long groups)
    {
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
        Groups = groups;
        Weight = RegisterParameter("weight", weight);
        if (bias is not null) Bias = RegisterParameter("bias", bias);
    }

    /// <summary>
    /// A convolution holding copies of <paramref name="weight"/> [out, in/groups, k, k] and <paramref name="bias"/>
    /// [out] (or none), of their type and on their device: one computed from another convolution, such as a
    /// normalizer folded into it. Unlike the constructor it draws nothing from the global generator, so building
    /// it does not shift the random stream of the code around it.
    /// </summary>
    public static Conv2d FromWeights(Tensor weight, Tensor? bias, long stride = 1, long padding = 0, long dilation = 1, long groups = 1)
    {
        var shape = weight.Shape;
        if (shape.Length != 4 || shape[2] != shape[3])
            throw new ArgumentException($"Conv2d: the weight must be [out, in/groups, k, k] with a square kernel, got [{string.Join(", ", shape)}].", nameof(weight));
        if (groups < 1 || shape[0] % groups != 0)
            throw new ArgumentException($"Conv2d: out_channels ({shape[0]}) must be divisible by groups ({groups}).", nameof(groups));
        if (bias is not null && (!bias.Shape.SequenceEqual([shape[0]]) || bias.Type != weight.Type || bias.Device != weight.Device))
            throw new ArgumentException(
                $"Conv2d: the bias must be a [{shape[0]}] {weight.Type} tensor on {weight.Device} like the weight, got [{string.Join(", ", bias.Shape)}] {bias.Type} on {bias.Device}.",
                nameof(bias));
        using var noGrad = Torch.NoGrad();
        return new Conv2d(weight.Detach().Clone(), bias?.Detach().Clone(), stride, padding, dilation, groups);
    }

    public Tensor Weight { get; }
    public Tensor? Bias { get; }
    public long Stride { get; }
    public long Padding { get; }
    public long Dilation { get; }
    public long Groups { get; }

    public override Tensor Forward(Tensor input) =>
        Functional.Conv2d(input, Weight, Bias, (Stride, Stride), (Padding, Padding), (Dilation, Dilation), Groups);

    private static long CheckedInChannelsPerGroup(long inChannels, long outChannels, long groups)
    {
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"Conv2d: in_channels ({inChannels}) and out_channels ({outChannels}) must both be divisible by groups ({groups}).", nameof(groups));
        return inChannels / groups;
    }
}
