using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.NN;

namespace MLNetNormalization.Trainers.Backbones;

/// <summary>
/// A convolution followed by its normalizer ("conv" then "norm"): the unit every backbone is built of,
/// so that whole-model operations (folding a fixed inference affine into the convolution) find each
/// normalizer together with the convolution it normalizes.
/// </summary>
public sealed class ConvNorm : Module
{
    public ConvNorm(Conv2d conv, Module norm)
    {
        Conv = RegisterModule("conv", conv);
        Norm = RegisterModule("norm", norm);
    }

    public Conv2d Conv { get; private set; }

    public Module Norm { get; private set; }

    public override Tensor Forward(Tensor input) => Norm.Forward(Conv.Forward(input));
}
