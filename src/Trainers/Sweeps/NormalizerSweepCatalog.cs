using Microsoft.ML;

namespace MLNetNormalization.Sweeps;

/// <summary>The normalizer sweep on ML.NET's multiclass catalog, in the shape of ML.NET AutoML's experiments.</summary>
public static class NormalizerSweepCatalog
{
    /// <summary>
    /// An experiment that trains <c>ImageClassifierWithNorm</c> with the normalizers, learning rates, weight decays and
    /// epochs of <paramref name="settings"/>' search space, by its strategy (grid, seeded random, successive halving),
    /// tunes each trial's inference alpha, and keeps the best model. Run it with <see cref="NormalizerSweepExperiment.Execute"/>.
    /// The settings are copied and checked now; the seed, when the settings give none, is drawn from the MLContext now.
    /// </summary>
    /// <exception cref="ArgumentException">An invalid setting; the message names it (NormalizerSweepSettings.X) and the fix.</exception>
    public static NormalizerSweepExperiment CreateNormalizerSweep(this MulticlassClassificationCatalog catalog, NormalizerSweepSettings settings)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(settings);
        return new NormalizerSweepExperiment(catalog, settings);
    }
}
