using System.Diagnostics.CodeAnalysis;
using MLNetNormalization.Normalization.Core;
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

    /// <summary>
    /// Folds the normalizer into the convolution when it is, in evaluation mode, a fixed per-channel affine
    /// y = z·s[c] + t[c] of the convolution's output z (see <see cref="NormalizationLayer.TryGetInferenceAffine"/>;
    /// libtorch's <see cref="BatchNorm2d"/> in evaluation mode is one too). "conv" becomes a convolution with
    /// the same stride, padding, dilation and groups, weight W·s[c] and bias b·s[c] + t[c] (b = 0 where the
    /// convolution had none), computed in float64 and stored in the convolution's type; "norm" becomes an
    /// <see cref="Identity"/>. The unit then computes the same function with one pass over the feature maps
    /// fewer. The replaced convolution and normalizer are disposed (this unit owned them): read anything
    /// needed from them before folding.
    /// Folding is for inference only: the folded unit no longer normalizes, so it must not be trained further.
    /// Returns false, with why not and the unit unchanged, when the normalizer is not a fixed affine.
    /// </summary>
    public bool TryFold([NotNullWhen(false)] out string? whyNot)
    {
        using var scope = Torch.NewDisposeScope();
        if (!TryGetInferenceAffine(Norm, out var scale, out var shift, out whyNot)) return false;
        var outChannels = Conv.Weight.Shape[0];
        if (scale.Shape[0] != outChannels)
            throw new InvalidOperationException(
                $"ConvNorm: the normalizer has {scale.Shape[0]} channels but the convolution gives {outChannels}; build the normalizer with the convolution's output channels.");

        Conv2d folded;
        using (Torch.NoGrad())
        {
            var type = Conv.Weight.Type;
            var weight = Conv.Weight.To(ScalarType.Float64).Mul(scale.View(outChannels, 1, 1, 1));
            var bias = Conv.Bias is null ? shift : Conv.Bias.To(ScalarType.Float64).Mul(scale).Add(shift);
            folded = Conv2d.FromWeights(weight.To(type), bias.To(type), Conv.Stride, Conv.Padding, Conv.Dilation, Conv.Groups);
        }
        var identity = new Identity();
        folded.Train(IsTraining);
        identity.Train(IsTraining);

        var (oldConv, oldNorm) = (Conv, Norm);
        ReplaceModule("conv", folded);
        ReplaceModule("norm", identity);
        Conv = folded;
        Norm = identity;
        oldConv.Dispose();
        oldNorm.Dispose();
        return true;
    }

    // The normalizer as y = z·scale[c] + shift[c], float64 [C], when it is a fixed per-channel affine.
    private static bool TryGetInferenceAffine(Module norm, [NotNullWhen(true)] out Tensor? scale, [NotNullWhen(true)] out Tensor? shift,
                                              [NotNullWhen(false)] out string? whyNot)
    {
        (scale, shift, whyNot) = (null, null, null);
        switch (norm)
        {
            case NormalizationLayer layer:
                return layer.TryGetInferenceAffine(out scale, out shift, out whyNot);
            case BatchNorm2d batchNorm when batchNorm.IsTraining:
                whyNot = "BatchNorm2d is in training mode, where it normalizes with each batch's statistics; call Eval() first (folding is for inference).";
                return false;
            case BatchNorm2d batchNorm:
                // libtorch's eval batch_norm: y = (z - running_mean)·weight/sqrt(running_var + eps) + bias.
                using (Torch.NoGrad())
                {
                    scale = batchNorm.Weight.To(ScalarType.Float64).Mul(batchNorm.RunningVar.To(ScalarType.Float64).Add(batchNorm.Eps).Rsqrt());
                    shift = batchNorm.Bias.To(ScalarType.Float64).Sub(batchNorm.RunningMean.To(ScalarType.Float64).Mul(scale));
                }
                return true;
            case Identity:
                whyNot = "the normalizer is an Identity (already folded, or built without one): there is nothing to fold.";
                return false;
            default:
                whyNot = $"{norm.GetType().Name} is not a normalizer folding knows; only NormalizationLayer and BatchNorm2d fold, in evaluation mode.";
                return false;
        }
    }
}
