namespace MLNetNormalization;

/// <summary>Which normalization layers of a backbone get the chosen normalizer.</summary>
public enum NormalizerPlacement
{
    /// <summary>Every normalization layer (the papers' main setting).</summary>
    EveryLayer,

    /// <summary>Only the first normalization layer; the others get <c>NormalizerPlan.OtherLayers</c> ("bn" by default) (the MN paper's "init" variant).</summary>
    FirstLayerOnly,
}
