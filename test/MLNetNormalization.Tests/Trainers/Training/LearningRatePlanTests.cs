using MLNetNormalization.Training;

namespace MLNetNormalization.Tests.Trainers.Training;

/// <summary>
/// The per-step factor of every schedule, with and without warm-up, against its formula written out here
/// (t: the global step, S: steps per epoch, W = round(WarmupEpochs·S): warm-up steps), over every step of
/// training, plus a few values worked out by hand.
/// </summary>
public class LearningRatePlanTests
{
    private const int StepsPerEpoch = 4;

    // Linear warm-up from 0: t / W for t < W; null after it (the schedule's own formula applies).
    private static double? Warmup(int t, int warmupSteps) => t < warmupSteps ? (double)t / warmupSteps : null;

    private static void AssertFactors(TrainingOptions options, Func<int, double> expected)
    {
        var schedule = LearningRatePlan.Create(options, StepsPerEpoch);
        // One step past the end too: the last scheduler.Step() of training asks for it.
        for (var t = 0; t <= options.Epochs * StepsPerEpoch; t++)
        {
            var actual = schedule.Factor(t);
            Assert.True(Math.Abs(actual - expected(t)) <= 1e-12, $"{options.Schedule}, warm-up {options.WarmupEpochs}: step {t}: expected {expected(t):R}, got {actual:R}");
        }
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    public void ConstantIsOneAfterWarmup(double warmupEpochs)
    {
        var options = new TrainingOptions { Schedule = LearningRateScheduleKind.Constant, Epochs = 5, WarmupEpochs = warmupEpochs };
        var w = (int)Math.Round(warmupEpochs * StepsPerEpoch);
        AssertFactors(options, t => Warmup(t, w) ?? 1);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void StepMultipliesByGammaEveryStepEpochsCountedAfterWarmup(double warmupEpochs)
    {
        var options = new TrainingOptions
        {
            Schedule = LearningRateScheduleKind.Step, Epochs = 10, StepEpochs = 2, ScheduleGamma = 0.5, WarmupEpochs = warmupEpochs,
        };
        var w = (int)Math.Round(warmupEpochs * StepsPerEpoch);
        // gamma^floor((t - W) / (StepEpochs·S)).
        AssertFactors(options, t => Warmup(t, w) ?? Math.Pow(0.5, (t - w) / (2 * StepsPerEpoch)));
    }

    [Fact]
    public void StepByHand()
    {
        var options = new TrainingOptions { Schedule = LearningRateScheduleKind.Step, Epochs = 10, StepEpochs = 2, ScheduleGamma = 0.5, WarmupEpochs = 1 };
        var schedule = LearningRatePlan.Create(options, StepsPerEpoch);
        // Warm-up over steps 0-3 (0, 1/4, 2/4, 3/4), then 1 for the 8 steps 4-11, 0.5 for steps 12-19, 0.25 from 20.
        Assert.Equal([0, 0.25, 0.5, 0.75, 1, 1, 0.5, 0.25], new[] { 0, 1, 2, 3, 4, 11, 12, 20 }.Select(schedule.Factor));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void MultiStepDefaultMilestonesAreHalfAndThreeQuartersCountedFromTheStart(double warmupEpochs)
    {
        var options = new TrainingOptions { Schedule = LearningRateScheduleKind.MultiStep, Epochs = 8, ScheduleGamma = 0.1, WarmupEpochs = warmupEpochs };
        Assert.Equal([4, 6], LearningRatePlan.Milestones(options));
        var w = (int)Math.Round(warmupEpochs * StepsPerEpoch);
        // gamma^(number of milestone epochs m with m·S <= t), whatever the warm-up.
        AssertFactors(options, t => Warmup(t, w) ?? Math.Pow(0.1, (t >= 4 * StepsPerEpoch ? 1 : 0) + (t >= 6 * StepsPerEpoch ? 1 : 0)));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(2.0)]
    public void MultiStepExplicitMilestones(double warmupEpochs)
    {
        int[] milestones = [3, 5, 7];
        var options = new TrainingOptions
        {
            Schedule = LearningRateScheduleKind.MultiStep, Epochs = 9, Milestones = milestones, ScheduleGamma = 0.5, WarmupEpochs = warmupEpochs,
        };
        var w = (int)Math.Round(warmupEpochs * StepsPerEpoch);
        AssertFactors(options, t => Warmup(t, w) ?? Math.Pow(0.5, milestones.Count(m => m * StepsPerEpoch <= t)));
    }

    [Fact]
    public void MultiStepByHand()
    {
        var options = new TrainingOptions { Schedule = LearningRateScheduleKind.MultiStep, Epochs = 9, Milestones = [3, 5, 7], ScheduleGamma = 0.5, WarmupEpochs = 2 };
        var schedule = LearningRatePlan.Create(options, StepsPerEpoch);
        // Warm-up over steps 0-7 (t/8), then 1 until step 12 (epoch 3), 0.5 from 12, 0.25 from 20, 0.125 from 28.
        Assert.Equal([0, 0.5, 1, 1, 0.5, 0.5, 0.25, 0.125], new[] { 0, 4, 8, 11, 12, 19, 20, 28 }.Select(schedule.Factor));
    }

    [Theory]
    [InlineData(8, new[] { 4, 6 })]
    [InlineData(20, new[] { 10, 15 })]
    [InlineData(3, new[] { 1, 2 })]
    // 2/2 = 1 and 2·3/4 = 1: the same epoch once.
    [InlineData(2, new[] { 1 })]
    // 1/2 = 0 and 3/4 = 0: epoch 0 is no milestone.
    [InlineData(1, new int[0])]
    public void DefaultMilestones(int epochs, int[] expected) =>
        Assert.Equal(expected, LearningRatePlan.Milestones(new TrainingOptions { Epochs = epochs }));

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void CosineDecaysToZeroOverTheStepsAfterWarmup(double warmupEpochs)
    {
        var options = new TrainingOptions { Schedule = LearningRateScheduleKind.Cosine, Epochs = 5, WarmupEpochs = warmupEpochs };
        var w = (int)Math.Round(warmupEpochs * StepsPerEpoch);
        var decaySteps = 5 * StepsPerEpoch - w;
        // (1 + cos(π·(t - W) / (total - W))) / 2.
        AssertFactors(options, t => Warmup(t, w) ?? (1 + Math.Cos(Math.PI * (t - w) / decaySteps)) / 2);
    }

    [Fact]
    public void CosineByHand()
    {
        var options = new TrainingOptions { Schedule = LearningRateScheduleKind.Cosine, Epochs = 5, WarmupEpochs = 1 };
        var schedule = LearningRatePlan.Create(options, StepsPerEpoch);
        // 16 decay steps after 4 of warm-up: 1 at step 4, 1/2 halfway (step 12), (1 + cos(π/4))/2 a quarter in (step 8), 0 at step 20.
        Assert.Equal(0.5, schedule.Factor(2), 12);
        Assert.Equal(1, schedule.Factor(4), 12);
        Assert.Equal((1 + Math.Sqrt(0.5)) / 2, schedule.Factor(8), 12);
        Assert.Equal(0.5, schedule.Factor(12), 12);
        Assert.Equal(0, schedule.Factor(20), 12);
    }

    [Fact]
    public void AMilestoneInsideTheWarmupIsRejectedNamingMilestones()
    {
        var options = new TrainingOptions { Schedule = LearningRateScheduleKind.MultiStep, Epochs = 6, Milestones = [1, 4], WarmupEpochs = 2 };
        var error = Assert.Throws<ArgumentException>(() => LearningRatePlan.Create(options, StepsPerEpoch));
        Assert.Contains("Milestones", error.Message);
        Assert.Contains("epoch 1", error.Message);
    }

    [Fact]
    public void AnEpochNeedsAStep() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRatePlan.Create(new TrainingOptions(), 0));
}
