namespace MLNetNormalization.Training;

/// <summary>
/// A learning-rate multiplier as a pure function of the global step t (steps taken so far, from 0): the rate
/// of step t is the initial rate · <see cref="Factor"/>(t). The trainer drives TorchSharp's optimizer through
/// <c>torch.optim.lr_scheduler.LambdaLR</c> with this function, so a resumed run continues from any step.
/// </summary>
internal abstract class LearningRateSchedule
{
    /// <summary>The multiplier of step <paramref name="step"/> (0-based).</summary>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="step"/> is negative.</exception>
    public abstract double Factor(int step);

    private protected static void CheckStep(int step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "The step counter starts at 0.");
    }
}

/// <summary>Multiplies by gamma every <c>stepSize</c> steps: gamma^floor(t / stepSize).</summary>
internal sealed class StepSchedule(int stepSize, double gamma) : LearningRateSchedule
{
    public override double Factor(int step)
    {
        CheckStep(step);
        return Math.Pow(gamma, step / stepSize);
    }
}

/// <summary>Multiplies by gamma at each milestone reached: gamma^(number of milestones &lt;= t).</summary>
internal sealed class MultiStepSchedule(IEnumerable<int> milestones, double gamma) : LearningRateSchedule
{
    private readonly int[] milestones = milestones.Order().ToArray();

    public override double Factor(int step)
    {
        CheckStep(step);
        return Math.Pow(gamma, milestones.Count(m => m <= step));
    }
}

/// <summary>Cosine annealing from 1 to 0 over <c>totalSteps</c>, then flat at 0.</summary>
internal sealed class CosineSchedule(int totalSteps) : LearningRateSchedule
{
    public override double Factor(int step)
    {
        CheckStep(step);
        var progress = Math.Min(step, totalSteps) / (double)totalSteps;
        return (1 + Math.Cos(Math.PI * progress)) / 2;
    }
}

/// <summary>Linear warm-up from 0 to 1 over <c>warmupSteps</c>, then <c>after</c> (1 when null) counted from the end of warm-up.</summary>
internal sealed class WarmupSchedule(int warmupSteps, LearningRateSchedule? after) : LearningRateSchedule
{
    public override double Factor(int step)
    {
        CheckStep(step);
        if (step < warmupSteps) return (double)step / warmupSteps;
        return after?.Factor(step - warmupSteps) ?? 1;
    }
}
