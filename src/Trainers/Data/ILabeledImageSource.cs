namespace MLNetNormalization.Data;

/// <summary>
/// Labeled images addressed by index: what the training engine reads. Implementations may hold the
/// images in memory or decode them on demand; reads must be safe from several threads at once, since
/// batches are assembled on background threads.
/// </summary>
public interface ILabeledImageSource
{
    /// <summary>Number of examples.</summary>
    int Count { get; }

    /// <summary>The shape every image has.</summary>
    ImageShape Shape { get; }

    /// <summary>Class names, indexed by label.</summary>
    IReadOnlyList<string> ClassNames { get; }

    /// <summary>The class index of example <paramref name="index"/>, in [0, ClassNames.Count).</summary>
    int GetLabel(int index);

    /// <summary>
    /// Writes example <paramref name="index"/>'s pixels, channel-major (CHW), into <paramref name="destination"/>. The engine
    /// standardizes them per channel as (x - PixelMean) / PixelStd (<see cref="Training.TrainingOptions"/>; defaults for
    /// pixels scaled to [0, 1]); a source that gives the values the network should see, such as ExtractPixels' output,
    /// goes with PixelMean 0 and PixelStd 1.
    /// </summary>
    void ReadImage(int index, Span<float> destination);
}
