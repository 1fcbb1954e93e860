using MLNetNormalization.TorchBinding.Optim;

namespace MLNetNormalization.Tests.Binding;

/// <summary>Learning-rate factors against hand-computed values, and the scheduler that applies them.</summary>
public class LearningRateScheduleTests
{
    private static double[] Factors(LearningRateSchedule schedule, int steps) =>
        Enumerable.Range(0, steps).Select(schedule.Factor).ToArray();

    [Fact]
    public void StepScheduleMultipliesByGammaEveryStepSize()
    {
        Expect.Close([1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25], Factors(new StepSchedule(3, 0.5), 8), 1e-15);
        Expect.Close([1, 0.1, 0.01, 0.001], Factors(new StepSchedule(1), 4), 1e-15);
    }

    [Fact]
    public void MultiStepScheduleMultipliesByGammaAtEachMilestone()
    {
        double[] expected = [1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01];
        Expect.Close(expected, Factors(new MultiStepSchedule([2, 5]), 8), 1e-15);
        // Milestones may come in any order.
        Expect.Close(expected, Factors(new MultiStepSchedule([5, 2]), 8), 1e-15);
        Expect.Close([1, 0.5, 0.5, 0.125], Factors(new MultiStepSchedule([1, 3, 3], 0.5), 4), 1e-15);
    }

    [Fact]
    public void CosineScheduleFollowsHalfACosineThenStaysAtItsFloor()
    {
        // cos(π/3) = 1/2: progress 1/3 gives (1 + 1/2)/2 = 0.75, progress 2/3 gives 0.25.
        Expect.Close([1, 0.75, 0.25, 0, 0, 0], Factors(new CosineSchedule(3), 6), 1e-15);
        // With a floor f: f + (1 - f)·factor.
        Expect.Close([1, 0.2 + 0.8 * 0.75, 0.2 + 0.8 * 0.25, 0.2, 0.2], Factors(new CosineSchedule(3, 0.2), 5), 1e-15);
        Expect.Close(0.5, new CosineSchedule(10).Factor(5), 1e-15);
    }

    [Fact]
    public void WarmupRampsLinearlyToOne()
    {
        Expect.Close([0.2, 0.4, 0.6, 0.8, 1, 1, 1], Factors(new WarmupSchedule(4, startFactor: 0.2), 7), 1e-15);
        Expect.Close([0, 0.5, 1, 1], Factors(new WarmupSchedule(2), 4), 1e-15);
    }

    [Fact]
    public void WarmupHandsOverToItsInnerScheduleCountedFromTheEndOfWarmup()
    {
        var schedule = new WarmupSchedule(2, new StepSchedule(2, 0.5), startFactor: 0.5);
        Expect.Close([0.5, 0.75, 1, 1, 0.5, 0.5, 0.25], Factors(schedule, 7), 1e-15);
        // No warm-up at all: the inner schedule from step 0.
        Expect.Close(Factors(new CosineSchedule(4), 6), Factors(new WarmupSchedule(0, new CosineSchedule(4)), 6), 0);
    }

    [Fact]
    public void SchedulesRejectInvalidArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepSchedule(2).Factor(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepSchedule(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MultiStepSchedule([0, 3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineSchedule(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WarmupSchedule(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WarmupSchedule(3).Factor(-2));
    }

    [Fact]
    public void TheSchedulerSetsEachGroupsRateFromItsInitialRate()
    {
        using var scope = Torch.NewDisposeScope();
        var a = TestData.Float64([1], 1);
        var b = TestData.Float64([2], 1);
        a.RequiresGrad = true;
        b.RequiresGrad = true;
        using var sgd = new SGD([new ParameterGroup([a], 0.1), new ParameterGroup([b], 0.02)]);

        var scheduler = new LearningRateScheduler(sgd, new StepSchedule(2, 0.5));
        Assert.Equal(0, scheduler.StepCount);
        Expect.Close([0.1, 0.02], sgd.Groups.Select(g => g.LearningRate).ToArray(), 1e-17);
        scheduler.Step();
        Assert.Equal(1, scheduler.StepCount);
        Expect.Close([0.1, 0.02], sgd.Groups.Select(g => g.LearningRate).ToArray(), 1e-17);
        scheduler.Step();
        scheduler.Step();
        Assert.Equal(3, scheduler.StepCount);
        Expect.Close([0.05, 0.01], sgd.Groups.Select(g => g.LearningRate).ToArray(), 1e-17);
        Expect.Close([0.1, 0.02], sgd.Groups.Select(g => g.InitialLearningRate).ToArray(), 0);

        // The optimizer steps with the scheduled rate.
        (a.Square() + b).Sum().Backward();
        sgd.Step();
        Expect.Close([1 - 0.05 * 2], a, 1e-15);
        Expect.Close([2 - 0.01], b, 1e-15);

        // Resuming at a later step applies that step's factor at once.
        var resumed = new LearningRateScheduler(sgd, new StepSchedule(2, 0.5), startStep: 4);
        Assert.Equal(4, resumed.StepCount);
        Expect.Close([0.025, 0.005], sgd.Groups.Select(g => g.LearningRate).ToArray(), 1e-17);
    }
}
