namespace MLNetNormalization.TorchBinding.Optim;

/// <summary>
/// A learning-rate multiplier as a pure function of a step counter (epochs or iterations, as the caller
/// advances it): the rate at step t is initial_rate · Factor(t).
/// </summary>
public abstract class LearningRateSchedule
{
    public abstract double Factor(int step);

    protected static void CheckStep(int step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "The step counter starts at 0.");
    }
}

/// <summary>Multiplies by gamma every <c>stepSize</c> steps: gamma^floor(t / stepSize).</summary>
public sealed class StepSchedule : LearningRateSchedule
{
    public StepSchedule(int stepSize, double gamma = 0.1)
    {
        if (stepSize <= 0) throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, "The step size must be positive.");
        StepSize = stepSize;
        Gamma = gamma;
    }

    public int StepSize { get; }
    public double Gamma { get; }

    public override double Factor(int step)
    {
        CheckStep(step);
        return Math.Pow(Gamma, step / StepSize);
    }
}

/// <summary>Multiplies by gamma at each milestone reached: gamma^(number of milestones &lt;= t).</summary>
public sealed class MultiStepSchedule : LearningRateSchedule
{
    public MultiStepSchedule(IEnumerable<int> milestones, double gamma = 0.1)
    {
        Milestones = milestones.Order().ToArray();
        if (Milestones.Any(m => m <= 0)) throw new ArgumentOutOfRangeException(nameof(milestones), "Milestones must be positive.");
        Gamma = gamma;
    }

    public IReadOnlyList<int> Milestones { get; }
    public double Gamma { get; }

    public override double Factor(int step)
    {
        CheckStep(step);
        return Math.Pow(Gamma, Milestones.Count(m => m <= step));
    }
}

/// <summary>Cosine annealing from 1 to <c>minFactor</c> over <c>totalSteps</c>, then flat at minFactor.</summary>
public sealed class CosineSchedule : LearningRateSchedule
{
    public CosineSchedule(int totalSteps, double minFactor = 0)
    {
        if (totalSteps <= 0) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "The schedule length must be positive.");
        TotalSteps = totalSteps;
        MinFactor = minFactor;
    }

    public int TotalSteps { get; }
    public double MinFactor { get; }

    public override double Factor(int step)
    {
        CheckStep(step);
        var progress = Math.Min(step, TotalSteps) / (double)TotalSteps;
        return MinFactor + (1 - MinFactor) * (1 + Math.Cos(Math.PI * progress)) / 2;
    }
}

/// <summary>Linear warm-up from <c>startFactor</c> to 1 over <c>warmupSteps</c>, then <c>after</c> counted from the end of warm-up.</summary>
public sealed class WarmupSchedule : LearningRateSchedule
{
    public WarmupSchedule(int warmupSteps, LearningRateSchedule? after = null, double startFactor = 0)
    {
        if (warmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, "Warm-up length must be >= 0.");
        WarmupSteps = warmupSteps;
        After = after;
        StartFactor = startFactor;
    }

    public int WarmupSteps { get; }
    public LearningRateSchedule? After { get; }
    public double StartFactor { get; }

    public override double Factor(int step)
    {
        CheckStep(step);
        if (step < WarmupSteps) return StartFactor + (1 - StartFactor) * step / WarmupSteps;
        return After?.Factor(step - WarmupSteps) ?? 1;
    }
}

/// <summary>Sets every group's rate from its initial rate and a schedule; call <see cref="Step"/> once per counted step.</summary>
public sealed class LearningRateScheduler
{
    private readonly SGD optimizer;
    private readonly LearningRateSchedule schedule;

    public LearningRateScheduler(SGD optimizer, LearningRateSchedule schedule, int startStep = 0)
    {
        this.optimizer = optimizer;
        this.schedule = schedule;
        StepCount = startStep;
        Apply();
    }

    /// <summary>Steps taken so far (restore it from a checkpoint through the constructor).</summary>
    public int StepCount { get; private set; }

    public void Step()
    {
        StepCount++;
        Apply();
    }

    private void Apply()
    {
        var factor = schedule.Factor(StepCount);
        foreach (var group in optimizer.Groups) group.LearningRate = group.InitialLearningRate * factor;
    }
}
