namespace MLNetNormalization.TorchBinding.NN;

/// <summary>2-D convolution with PyTorch's default init (uniform weight and bias, bound 1/sqrt(fan_in)).</summary>
public sealed class Conv2d : Module
{
    public Conv2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0,
                  long dilation = 1, long groups = 1, bool bias = true)
    {
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"Conv2d: in_channels ({inChannels}) and out_channels ({outChannels}) must both be divisible by groups ({groups}).", nameof(groups));
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
        Groups = groups;
        Weight = RegisterParameter("weight", Torch.Zeros([outChannels, inChannels / groups, kernelSize, kernelSize]));
        var bound = 1 / Math.Sqrt(Init.FanIn(Weight));
        Init.Uniform(Weight, -bound, bound);
        if (bias) Bias = RegisterParameter("bias", Init.Uniform(Torch.Zeros([outChannels]), -bound, bound));
    }

    public Tensor Weight { get; }
    public Tensor? Bias { get; }
    public long Stride { get; }
    public long Padding { get; }
    public long Dilation { get; }
    public long Groups { get; }

    public override Tensor Forward(Tensor input) =>
        Functional.Conv2d(input, Weight, Bias, (Stride, Stride), (Padding, Padding), (Dilation, Dilation), Groups);
}
