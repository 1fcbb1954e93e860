namespace MLNetNormalization.TorchBinding.NN;

/// <summary>y = x Wᵀ + b with PyTorch's default init (uniform, bound 1/sqrt(in_features)).</summary>
public sealed class Linear : Module
{
    public Linear(long inFeatures, long outFeatures, bool bias = true)
    {
        var bound = 1 / Math.Sqrt(inFeatures);
        Weight = RegisterParameter("weight", Init.Uniform(Torch.Zeros([outFeatures, inFeatures]), -bound, bound));
        if (bias) Bias = RegisterParameter("bias", Init.Uniform(Torch.Zeros([outFeatures]), -bound, bound));
    }

    public Tensor Weight { get; }
    public Tensor? Bias { get; }

    public override Tensor Forward(Tensor input) => Functional.Linear(input, Weight, Bias);
}
