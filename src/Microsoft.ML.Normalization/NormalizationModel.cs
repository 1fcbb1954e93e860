namespace MLNetNormalization.Normalization;

/// <summary>A model's parameters by the weight decay a trainer may want for each ("Four Things Everyone Should Know to Improve Batch Normalization", arXiv:1906.03548, section 3.3).</summary>
public sealed record ParameterRoles(IReadOnlyList<Parameter> Weights, IReadOnlyList<Parameter> NormalizationAffine, IReadOnlyList<Parameter> Gating);

/// <summary>Whole-model operations on the normalization layers of a network.</summary>
public static class NormalizationModel
{
    /// <summary>Every normalization layer of the model, with its dotted name.</summary>
    public static IEnumerable<(string Name, NormalizationLayer Layer)> Layers(nn.Module model) =>
        SelfAndDescendants(model).Where(m => m.Module is NormalizationLayer).Select(m => (m.Name, (NormalizationLayer)m.Module));

    // TorchSharp's named_modules lists the descendants only; a layer given as the model is one too.
    private static IEnumerable<(string Name, nn.Module Module)> SelfAndDescendants(nn.Module model) => model.named_modules().Prepend(("", model));

    /// <summary>Sets the inference example weight of every layer that keeps running statistics; returns how many were set.</summary>
    public static int SetInferenceAlpha(nn.Module model, double alpha)
    {
        var layers = Layers(model).Where(l => l.Layer.HasRunningStatistics).ToList();
        foreach (var (_, layer) in layers) layer.Alpha = alpha;
        return layers.Count;
    }

    /// <summary>Restores every layer's own default alpha.</summary>
    public static void ResetInferenceAlpha(nn.Module model)
    {
        foreach (var (_, layer) in Layers(model)) layer.Alpha = layer.DefaultAlpha;
    }

    /// <summary>
    /// Splits the parameters: gamma/beta of normalization layers (TorchSharp's BatchNorm2d included), their
    /// gating parameters (MN/MGN gates, SN mixing logits), and everything else (conv and linear weights
    /// and biases).
    /// </summary>
    public static ParameterRoles SplitParameters(nn.Module model)
    {
        var layers = Layers(model).Select(l => l.Layer).ToList();
        // BatchNorm2d is the backbones' default normalizer; its weight and bias are a gamma and a beta too,
        // and must not get the weight decay of the convolutions.
        var affine = SelfAndDescendants(model).SelectMany(m => m.Module switch
        {
            NormalizationLayer layer => new[] { layer.Weight, layer.Bias },
            TorchSharp.Modules.BatchNorm { affine: true } batchNorm => [batchNorm.weight!, batchNorm.bias!],
            _ => [],
        }).ToList();
        var gating = layers.SelectMany(l => l.GatingParameters()).ToList();
        var special = new HashSet<Parameter>(affine.Concat(gating), ReferenceEqualityComparer.Instance);
        var weights = model.parameters().Where(p => !special.Contains(p)).ToList();
        return new ParameterRoles(weights, affine, gating);
    }
}
