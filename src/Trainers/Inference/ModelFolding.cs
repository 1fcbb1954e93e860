using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Backbones;
using MLNetNormalization.Normalization;
using TorchSharp;
using TorchSharp.Modules;

namespace MLNetNormalization.Inference;

/// <summary>A normalization layer that was left in the model, by its dotted name, and why.</summary>
public sealed record UnfoldedLayer(string Name, string Reason)
{
    public override string ToString() => $"{Name}: {Reason}";
}

/// <summary>What <see cref="ModelFolding.Fold"/> did: the normalizers folded into their convolutions, and those left.</summary>
public sealed record FoldingReport(IReadOnlyList<string> Folded, IReadOnlyList<UnfoldedLayer> NotFolded)
{
    public override string ToString() =>
        $"folded {Folded.Count} normalizer(s)" + (Folded.Count > 0 ? $": {string.Join(", ", Folded)}" : "") +
        $"; left {NotFolded.Count}" + string.Concat(NotFolded.Select(u => $"{Environment.NewLine}  {u}"));
}

/// <summary>
/// Folds the normalizers of a trained model that are fixed per-channel affines at inference into the
/// convolutions before them (<see cref="ConvNorm.TryFold"/>), so that inference skips their passes over the
/// feature maps and computes the same outputs (up to float rounding).
/// </summary>
public static class ModelFolding
{
    /// <summary>
    /// Puts <paramref name="model"/> in evaluation mode and folds every <see cref="ConvNorm"/> unit whose
    /// normalizer folds; reports each normalization layer it did not fold with the reason (its statistics
    /// depend on the input, alpha &gt; 0, or it is not the "norm" of a ConvNorm unit, so there is no convolution
    /// to fold it into). Folding is for inference only: the folded model has lost its normalizers, so it must
    /// not be trained further (train the unfolded model, then fold a copy for deployment). Normalizers are
    /// <see cref="NormalizationLayer"/>s and TorchSharp's <see cref="BatchNorm2d"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException">When <paramref name="model"/> is null.</exception>
    public static FoldingReport Fold(torch.nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.eval();
        var folded = new List<string>();
        var notFolded = new List<UnfoldedLayer>();
        // Listed before folding: folding replaces children, which would invalidate a live enumeration.
        var modules = model.named_modules().ToList();
        var unitNorms = new HashSet<torch.nn.Module>(modules.Select(m => m.module).OfType<ConvNorm>().Select(u => u.Norm), ReferenceEqualityComparer.Instance);
        foreach (var (name, module) in modules)
        {
            if (module is ConvNorm unit)
            {
                var normName = name.Length == 0 ? "norm" : $"{name}.norm";
                if (unit.TryFold(out var whyNot)) folded.Add(normName);
                else notFolded.Add(new(normName, whyNot));
            }
            else if (module is NormalizationLayer or BatchNorm2d && !unitNorms.Contains(module))
            {
                notFolded.Add(new(name, $"{module.GetType().Name} is not the \"norm\" of a ConvNorm unit, so there is no convolution known to fold it into; " +
                                        "build the model of ConvNorm units (a convolution, then its normalizer)."));
            }
        }
        return new(folded, notFolded);
    }
}
