using System.Diagnostics.CodeAnalysis;
using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Normalization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetNormalization.Backbones;

/// <summary>
/// A convolution followed by its normalizer (children "conv" then "norm"): the unit every backbone is built of,
/// so that whole-model operations (folding a fixed inference affine into the convolution) find each
/// normalizer together with the convolution it normalizes. Maps [N, C_in, H, W] to the convolution's output
/// shape [N, C_out, H', W'].
/// </summary>
public sealed class ConvNorm : nn.Module<Tensor, Tensor>
{
    private Conv2d conv;
    private nn.Module<Tensor, Tensor> norm;

    /// <param name="conv">The convolution; this unit owns it from now on.</param>
    /// <param name="norm">Its normalizer (a <see cref="NormalizationLayer"/>, TorchSharp's <see cref="BatchNorm2d"/>, or any module); owned too.</param>
    public ConvNorm(Conv2d conv, nn.Module<Tensor, Tensor> norm) : base(nameof(ConvNorm))
    {
        this.conv = conv ?? throw new ArgumentNullException(nameof(conv));
        this.norm = norm ?? throw new ArgumentNullException(nameof(norm));
        RegisterComponents();
    }

    /// <summary>The convolution (state_dict prefix "conv.").</summary>
    public Conv2d Conv => conv;

    /// <summary>The normalizer (state_dict prefix "norm."); an <see cref="Identity"/> once folded.</summary>
    public nn.Module<Tensor, Tensor> Norm => norm;

    public override Tensor forward(Tensor input) => norm.call(conv.call(input));

    /// <summary>
    /// Folds the normalizer into the convolution when it is, in evaluation mode, a fixed per-channel affine
    /// y = z·s[c] + t[c] of the convolution's output z (see <see cref="NormalizationLayer.TryGetInferenceAffine"/>;
    /// TorchSharp's <see cref="BatchNorm2d"/> in evaluation mode is one too). The convolution keeps its stride,
    /// padding, dilation and groups and gets weight W·s[c] and bias b·s[c] + t[c] (b = 0 where it had none),
    /// computed in float64 and stored in the convolution's type and device as new parameters (the old weight and
    /// bias are disposed); "norm" becomes an <see cref="Identity"/> and the old normalizer is disposed (read
    /// anything needed from it before folding). The unit then computes the same function with one pass over the
    /// feature maps fewer. Folding is for inference only: the folded unit no longer normalizes, so it must not
    /// be trained further. Returns false, with why not and the unit unchanged, when the normalizer is not a
    /// fixed affine.
    /// </summary>
    /// <exception cref="InvalidOperationException">When the normalizer's channel count is not the convolution's output channels.</exception>
    public bool TryFold([NotNullWhen(false)] out string? whyNot)
    {
        if (!TryFoldedParameters(out var weight, out var bias, out whyNot)) return false;
        // The setters dispose the old parameters and register the new ones under "weight" and "bias".
        conv.weight = new Parameter(weight, requires_grad: true);
        conv.bias = new Parameter(bias, requires_grad: true);
        var identity = nn.Identity();
        identity.train(training);

        var oldNorm = norm;
        norm = identity;
        // Re-registered in the same order, so that named_modules() and state_dict() keep "conv" before "norm".
        ClearModules();
        register_module("conv", conv);
        register_module("norm", norm);
        oldNorm.Dispose();
        return true;
    }

    /// <summary>
    /// The weight W·s[c] and bias b·s[c] + t[c] of the convolution with the normalizer folded in (see <see cref="TryFold"/>),
    /// new tensors in the convolution's type and device that the caller owns, leaving this unit unchanged; or false and why not.
    /// </summary>
    /// <exception cref="InvalidOperationException">When the normalizer's channel count is not the convolution's output channels.</exception>
    internal bool TryFoldedParameters([NotNullWhen(true)] out Tensor? weight, [NotNullWhen(true)] out Tensor? bias, [NotNullWhen(false)] out string? whyNot)
    {
        (weight, bias) = (null, null);
        using var scope = NewDisposeScope();
        if (!TryGetInferenceAffine(norm, out var scale, out var shift, out whyNot)) return false;
        var outChannels = conv.weight.shape[0];
        if (scale.shape[0] != outChannels)
            throw new InvalidOperationException(
                $"ConvNorm: the normalizer has {scale.shape[0]} channels but the convolution gives {outChannels}; build the normalizer with the convolution's output channels.");
        using (no_grad())
        {
            var type = conv.weight.dtype;
            var device = conv.weight.device;
            scale = scale.to(float64, device);
            shift = shift.to(float64, device);
            var folded = conv.weight.to(float64).mul(scale.view(outChannels, 1, 1, 1));
            var foldedBias = conv.bias is null ? shift : conv.bias.to(float64).mul(scale).add(shift);
            weight = folded.to(type).contiguous().DetachFromDisposeScope();
            bias = foldedBias.to(type).contiguous().DetachFromDisposeScope();
        }
        return true;
    }

    /// <summary>
    /// A normalizer as y = z·scale[c] + shift[c], float64 [C] tensors the caller owns, when it is a fixed per-channel
    /// affine in evaluation mode (a <see cref="NormalizationLayer"/> or TorchSharp's <see cref="BatchNorm2d"/>); else why not.
    /// </summary>
    internal static bool TryGetInferenceAffine(nn.Module<Tensor, Tensor> norm, [NotNullWhen(true)] out Tensor? scale, [NotNullWhen(true)] out Tensor? shift,
                                              [NotNullWhen(false)] out string? whyNot)
    {
        (scale, shift, whyNot) = (null, null, null);
        switch (norm)
        {
            case NormalizationLayer layer:
                return layer.TryGetInferenceAffine(out scale, out shift, out whyNot);
            case BatchNorm2d batchNorm when batchNorm.training:
                whyNot = "BatchNorm2d is in training mode, where it normalizes with each batch's statistics; call eval() first (folding is for inference).";
                return false;
            case BatchNorm2d batchNorm when batchNorm.running_mean is null || batchNorm.running_var is null:
                whyNot = "BatchNorm2d keeps no running statistics (track_running_stats: false), so it normalizes with each batch's statistics even in eval mode.";
                return false;
            case BatchNorm2d batchNorm:
                // libtorch's eval batch_norm: y = (z - running_mean)·weight/sqrt(running_var + eps) + bias, weight 1 and bias 0 when not affine.
                using (no_grad())
                {
                    var inverseStd = batchNorm.running_var!.to(float64).add(batchNorm.eps).rsqrt();
                    scale = batchNorm.weight is null ? inverseStd : batchNorm.weight.to(float64).mul(inverseStd);
                    var mean = batchNorm.running_mean!.to(float64).mul(scale);
                    shift = batchNorm.bias is null ? mean.neg() : batchNorm.bias.to(float64).sub(mean);
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
