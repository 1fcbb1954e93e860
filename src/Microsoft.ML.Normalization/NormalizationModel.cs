using MLNetNormalization.Normalization.Core;
using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.NN;

namespace MLNetNormalization.Normalization;

/// <summary>A model's parameters by the weight decay a trainer may want for each (seed "four things" 3.3).</summary>
public sealed record ParameterRoles(IReadOnlyList<Tensor> Weights, IReadOnlyList<Tensor> NormalizationAffine, IReadOnlyList<Tensor> Gating);

/// <summary>Whole-model operations on the normalization layers of a network.</summary>
public static class NormalizationModel
{
    /// <summary>Every normalization layer of the model, with its dotted name.</summary>
    public static IEnumerable<(string Name, NormalizationLayer Layer)> Layers(Module model) =>
        model.NamedModules().Where(m => m.Module is NormalizationLayer).Select(m => (m.Name, (NormalizationLayer)m.Module));

    /// <summary>Sets the inference example weight of every layer that keeps running statistics; returns how many were set.</summary>
    public static int SetInferenceAlpha(Module model, double alpha)
    {
        var layers = Layers(model).Where(l => l.Layer.HasRunningStatistics).ToList();
        foreach (var (_, layer) in layers) layer.Alpha = alpha;
        return layers.Count;
    }

    /// <summary>Restores every layer's own default alpha.</summary>
    public static void ResetInferenceAlpha(Module model)
    {
        foreach (var (_, layer) in Layers(model)) layer.Alpha = layer.DefaultAlpha;
    }

    /// <summary>
    /// Splits the parameters: gamma/beta of normalization layers (libtorch's BatchNorm2d included), their
    /// gating parameters (MN/MGN gates, SN mixing logits), and everything else (conv and linear weights
    /// and biases).
    /// </summary>
    public static ParameterRoles SplitParameters(Module model)
    {
        var layers = Layers(model).Select(l => l.Layer).ToList();
        // BatchNorm2d is the backbones' default normalizer; its weight and bias are a gamma and a beta too,
        // and must not get the weight decay of the convolutions.
        var affine = model.NamedModules().SelectMany(m => m.Module switch
        {
            NormalizationLayer layer => new[] { layer.Weight, layer.Bias },
            BatchNorm2d batchNorm => [batchNorm.Weight, batchNorm.Bias],
            _ => [],
        }).ToList();
        var gating = layers.SelectMany(l => l.GatingParameters()).ToList();
        var special = new HashSet<Tensor>(affine.Concat(gating), ReferenceEqualityComparer.Instance);
        var weights = model.Parameters().Where(p => !special.Contains(p)).ToList();
        return new ParameterRoles(weights, affine, gating);
    }
}
