namespace MLNetNormalization;

/// <summary>The validation metric early stopping and best-model keeping watch.</summary>
public enum ValidationMetric
{
    /// <summary>MicroAccuracy, higher is better.</summary>
    MicroAccuracy,

    /// <summary>LogLoss, lower is better.</summary>
    LogLoss,
}

/// <summary>Stops training when the validation metric has not improved by <see cref="MinDelta"/> for <see cref="Patience"/> epochs.</summary>
public sealed record EarlyStoppingOptions
{
    /// <summary>Epochs without improvement before stopping. Default 5.</summary>
    public int Patience { get; init; } = 5;

    /// <summary>The smallest change that counts as an improvement. Default 0.</summary>
    public double MinDelta { get; init; }
}
