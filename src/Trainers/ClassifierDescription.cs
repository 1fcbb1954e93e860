using MLNetNormalization.Backbones;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetNormalization;

/// <summary>The column names a model reads and writes.</summary>
internal sealed record ColumnNames(string Label, string Features, string Score, string PredictedLabel);

/// <summary>
/// A trained classifier besides its weights: what rebuilds its network (the backbone's registered name, see
/// <see cref="BackboneRegistry"/>; the normalizer plan, image shape, the
/// label's classes), what it reads and writes (the features' kind, the column names), its inference alpha and its
/// device. Fit, Load and WithInferenceAlpha make the transformer from one; saving writes it and loading reads it back
/// (ImageClassificationTransformer.Saving.cs).
/// </summary>
internal sealed record ClassifierDescription(string Backbone, NormalizerPlan Plan, ImageShape Shape, LabelKeyValues LabelKeys,
                                             FeatureKind FeatureKind, ColumnNames Columns, double? InferenceAlpha, Device Device)
{
    /// <summary>
    /// The network of this description with fresh weights, on <see cref="Device"/>. The global random generator is left
    /// as it was, so rebuilding a model does not change what a later seeded draw gives.
    /// </summary>
    public nn.Module<Tensor, Tensor> NewNetwork()
    {
        using var rngState = get_rng_state();
        try
        {
            return BackboneRegistry.Create(Backbone, Shape, LabelKeys.Count, Plan).to(Device);
        }
        finally
        {
            set_rng_state(rngState);
        }
    }
}
