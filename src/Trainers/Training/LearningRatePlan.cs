namespace MLNetNormalization.Training;

/// <summary>Turns the options' epoch-based schedule into the per-step schedule the optimizer follows.</summary>
internal static class LearningRatePlan
{
    /// <summary>Milestones of a MultiStep schedule: the options' own, or 50% and 75% of the epochs.</summary>
    public static IReadOnlyList<int> Milestones(TrainingOptions options) =>
        options.Milestones ?? new[] { options.Epochs / 2, options.Epochs * 3 / 4 }.Where(m => m >= 1).Distinct().ToArray();

    /// <summary>
    /// The schedule over steps: linear warm-up over WarmupEpochs, then the chosen decay. MultiStep milestones
    /// count epochs from the start of training; Step and Cosine start counting after warm-up.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="stepsPerEpoch"/> is below 1.</exception>
    /// <exception cref="ArgumentException">When a MultiStep milestone falls within the warm-up.</exception>
    public static LearningRateSchedule Create(TrainingOptions options, int stepsPerEpoch)
    {
        if (stepsPerEpoch < 1) throw new ArgumentOutOfRangeException(nameof(stepsPerEpoch), stepsPerEpoch, "An epoch has at least one step.");
        var warmupSteps = (int)Math.Round(options.WarmupEpochs * stepsPerEpoch);
        var totalSteps = options.Epochs * stepsPerEpoch;
        LearningRateSchedule? decay = options.Schedule switch
        {
            LearningRateScheduleKind.Constant => null,
            LearningRateScheduleKind.Step => new StepSchedule(options.StepEpochs * stepsPerEpoch, options.ScheduleGamma),
            LearningRateScheduleKind.MultiStep => new MultiStepSchedule(MilestoneSteps(options, stepsPerEpoch, warmupSteps), options.ScheduleGamma),
            LearningRateScheduleKind.Cosine => new CosineSchedule(Math.Max(1, totalSteps - warmupSteps)),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Schedule, "Unknown schedule."),
        };
        if (warmupSteps == 0) return decay ?? new StepSchedule(int.MaxValue, 1.0);
        return new WarmupSchedule(warmupSteps, decay);
    }

    // Milestones as steps after warm-up, since the warm-up schedule hands its successor the steps counted from its end.
    private static IEnumerable<int> MilestoneSteps(TrainingOptions options, int stepsPerEpoch, int warmupSteps)
    {
        foreach (var epoch in Milestones(options))
        {
            var step = epoch * stepsPerEpoch - warmupSteps;
            if (step <= 0)
                throw new ArgumentException(
                    $"{nameof(TrainingOptions)}.{nameof(TrainingOptions.Milestones)}: epoch {epoch} falls within the {options.WarmupEpochs} warm-up epochs; " +
                    "put milestones after the warm-up or shorten it.", nameof(options));
            yield return step;
        }
    }
}
