using MLNetNormalization.Training;

namespace MLNetNormalization.Tests.Trainers.Training;

/// <summary>
/// TrainingOptions.Validate: every invalid setting is refused with an ArgumentException whose parameter
/// name and message name the option, so that a user knows which one to fix; valid settings pass.
/// </summary>
public class TrainingOptionsTests
{
    // Case name -> (the option the error must name, options invalid in that one respect only).
    private static readonly Dictionary<string, (string Option, TrainingOptions Options)> Invalid = new()
    {
        ["Epochs 0"] = ("Epochs", new() { Epochs = 0 }),
        ["BatchSize 1"] = ("BatchSize", new() { BatchSize = 1 }),
        ["LearningRate NaN"] = ("LearningRate", new() { LearningRate = double.NaN }),
        ["LearningRate 0"] = ("LearningRate", new() { LearningRate = 0 }),
        ["LearningRate infinite"] = ("LearningRate", new() { LearningRate = double.PositiveInfinity }),
        ["Momentum 1"] = ("Momentum", new() { Momentum = 1 }),
        ["Momentum negative"] = ("Momentum", new() { Momentum = -0.1 }),
        ["Nesterov without momentum"] = ("Nesterov", new() { Nesterov = true, Momentum = 0 }),
        ["WeightDecay negative"] = ("WeightDecay", new() { WeightDecay = -1e-4 }),
        ["NormWeightDecay negative"] = ("NormWeightDecay", new() { NormWeightDecay = -1e-4 }),
        ["GateWeightDecay negative"] = ("GateWeightDecay", new() { GateWeightDecay = -1e-4 }),
        ["Schedule undefined"] = ("Schedule", new() { Schedule = (LearningRateScheduleKind)99 }),
        ["Milestones decreasing"] = ("Milestones", new() { Milestones = [6, 3] }),
        ["Milestones repeated"] = ("Milestones", new() { Milestones = [3, 3] }),
        ["Milestones at epoch 0"] = ("Milestones", new() { Milestones = [0, 5] }),
        ["StepEpochs 0"] = ("StepEpochs", new() { StepEpochs = 0 }),
        ["ScheduleGamma 0"] = ("ScheduleGamma", new() { ScheduleGamma = 0 }),
        ["ScheduleGamma above 1"] = ("ScheduleGamma", new() { ScheduleGamma = 1.5 }),
        ["WarmupEpochs negative"] = ("WarmupEpochs", new() { WarmupEpochs = -1 }),
        ["WarmupEpochs beyond Epochs"] = ("WarmupEpochs", new() { Epochs = 3, WarmupEpochs = 3.5 }),
        ["LabelSmoothing 1"] = ("LabelSmoothing", new() { LabelSmoothing = 1 }),
        ["LabelSmoothing negative"] = ("LabelSmoothing", new() { LabelSmoothing = -0.1 }),
        ["CropPadding -1"] = ("CropPadding", new() { CropPadding = -1 }),
        ["PixelMean empty"] = ("PixelMean", new() { PixelMean = [] }),
        ["PixelMean NaN"] = ("PixelMean", new() { PixelMean = [0.5, double.NaN, 0.5] }),
        ["PixelStd 0"] = ("PixelStd", new() { PixelStd = [0] }),
        ["PixelStd negative"] = ("PixelStd", new() { PixelStd = [0.2, -0.2, 0.2] }),
        ["PixelStd infinite"] = ("PixelStd", new() { PixelStd = [double.PositiveInfinity] }),
        ["PixelStd empty"] = ("PixelStd", new() { PixelStd = [] }),
        ["EarlyStopping patience 0"] = ("EarlyStopping", new() { EarlyStopping = new() { Patience = 0 } }),
        ["EarlyStopping negative MinDelta"] = ("EarlyStopping", new() { EarlyStopping = new() { MinDelta = -0.01 } }),
        ["ValidationMetric undefined"] = ("ValidationMetric", new() { ValidationMetric = (ValidationMetric)7 }),
        ["CheckpointEverySteps negative"] = ("CheckpointEverySteps", new() { CheckpointEverySteps = -1, WorkspacePath = "workspace" }),
        ["CheckpointEverySteps without workspace"] = ("CheckpointEverySteps", new() { CheckpointEverySteps = 10 }),
        ["ProgressEverySteps 0"] = ("ProgressEverySteps", new() { ProgressEverySteps = 0 }),
        ["PrefetchBatches 0"] = ("PrefetchBatches", new() { PrefetchBatches = 0 }),
    };

    public static TheoryData<string> InvalidCases() => new(Invalid.Keys);

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void InvalidOptionIsRefusedNamingIt(string invalidCase)
    {
        var (option, options) = Invalid[invalidCase];
        var error = Assert.Throws<ArgumentException>(() => options.Validate());
        Assert.Equal(option, error.ParamName);
        Assert.Contains($"TrainingOptions.{option}:", error.Message);
    }

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void TheTrainerValidatesItsOptions(string invalidCase)
    {
        var (option, options) = Invalid[invalidCase];
        Assert.Equal(option, Assert.Throws<ArgumentException>(() => new ClassifierTrainer(options)).ParamName);
    }

    [Fact]
    public void DefaultOptionsAreValid()
    {
        var options = new TrainingOptions();
        Assert.Same(options, options.Validate());
    }

    [Fact]
    public void EveryOptionAtAValidEdgeIsAccepted()
    {
        // Each value here sits at the edge of its valid range.
        var options = new TrainingOptions
        {
            Epochs = 1, BatchSize = 2, LearningRate = 1e-9, Momentum = 0, WeightDecay = 0, NormWeightDecay = 0, GateWeightDecay = 0,
            Schedule = LearningRateScheduleKind.Cosine, Milestones = [1], StepEpochs = 1, ScheduleGamma = 1, WarmupEpochs = 1,
            LabelSmoothing = 0, CropPadding = 0, PixelMean = [0.4, 0.5, 0.6], PixelStd = [0.2, 0.25, 0.3],
            EarlyStopping = new() { Patience = 1, MinDelta = 0 }, ValidationMetric = ValidationMetric.LogLoss,
            WorkspacePath = "workspace", CheckpointEverySteps = 1, ProgressEverySteps = 1, PrefetchBatches = 1,
        };
        Assert.Same(options, options.Validate());
        var nesterov = new TrainingOptions { Nesterov = true, Momentum = 0.99, LabelSmoothing = 0.999 };
        Assert.Same(nesterov, nesterov.Validate());
    }
}
