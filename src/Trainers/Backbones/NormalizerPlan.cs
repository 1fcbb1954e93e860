using MLNetNormalization.Normalization;
using MLNetNormalization.Normalization.Core;

namespace MLNetNormalization.Backbones;

/// <summary>
/// The normalizers of a backbone, as factory strings ("bn", "mn:k=2", "hn:g=1"; see
/// <see cref="NormalizerFactory.ValidForms"/>), checked when the plan is made. Backbones create their
/// normalization layers in network order, so the first layer created is the first in the network.
/// </summary>
public sealed class NormalizerPlan
{
    private readonly Func<long, NormalizationLayer> chosen, others;

    /// <param name="normalizer">The chosen normalizer; "bn" by default.</param>
    /// <param name="placement">Every layer (default) or only the first.</param>
    /// <param name="otherLayers">The normalizer of the other layers when only the first gets the chosen one; "bn" by default.</param>
    /// <exception cref="ArgumentException">When a normalizer string is not one of <see cref="NormalizerFactory.ValidForms"/>.</exception>
    public NormalizerPlan(string normalizer = "bn", NormalizerPlacement placement = NormalizerPlacement.EveryLayer, string otherLayers = "bn")
    {
        if (!Enum.IsDefined(placement))
            throw new ArgumentOutOfRangeException(nameof(placement), placement, $"Use one of {string.Join(", ", Enum.GetNames<NormalizerPlacement>())}.");
        chosen = NormalizerFactory.Create(normalizer);
        others = NormalizerFactory.Create(otherLayers);
        Normalizer = normalizer;
        Placement = placement;
        OtherLayers = otherLayers;
    }

    public string Normalizer { get; }
    public NormalizerPlacement Placement { get; }
    public string OtherLayers { get; }

    /// <summary>
    /// A factory for one model: its first call makes the first normalization layer, and so on. It returns
    /// <see cref="NormalizationLayer"/>s, so it also serves where a <c>Func&lt;long, nn.Module&lt;Tensor, Tensor&gt;&gt;</c> is asked for.
    /// </summary>
    public Func<long, NormalizationLayer> NewFactory()
    {
        var created = 0;
        return channels => created++ == 0 || Placement == NormalizerPlacement.EveryLayer ? chosen(channels) : others(channels);
    }

    public override string ToString() =>
        Placement == NormalizerPlacement.EveryLayer ? Normalizer : $"{Normalizer} (first layer), {OtherLayers} (others)";
}
