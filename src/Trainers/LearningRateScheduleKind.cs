namespace MLNetNormalization;

/// <summary>How the learning rate changes over training (all on top of an optional linear warm-up).</summary>
public enum LearningRateScheduleKind
{
    /// <summary>The rate stays at the options' learning rate.</summary>
    Constant,

    /// <summary>Multiplied by 0.1 every 30 epochs.</summary>
    Step,

    /// <summary>Multiplied by 0.1 at 50% and at 75% of the epochs (the papers' schedules).</summary>
    MultiStep,

    /// <summary>Cosine decay from the rate to 0 over the epochs after warm-up.</summary>
    Cosine,
}
