using MLNetNormalization.Tests.Support;
using MLNetNormalization;
using MLNetNormalization.Backbones;
using MLNetNormalization.Training;

namespace MLNetNormalization.Tests.Trainers.ImageClassification;

/// <summary>
/// The trainer's options: the typed normalizer written as a factory string, and every invalid option or
/// combination refused before training, naming the option. Resolving builds a throwaway backbone, so it
/// belongs with the tests that use the global generator.
/// </summary>
[Collection(TestCollections.GlobalRandom)]
public sealed class ImageClassifierWithNormOptionsTests
{
    private static readonly ImageShape Digits = new(1, 28, 28);

    [Theory]
    [InlineData(NormalizerKind.BatchNorm, null, "bn")]
    [InlineData(NormalizerKind.GhostBatchNorm, null, "ghost:b=16")]
    [InlineData(NormalizerKind.BatchGroupNorm, null, "bgn:g=8,b=4")]
    [InlineData(NormalizerKind.BatchGroupNorm, 2, "bgn:g=2,b=4")]
    [InlineData(NormalizerKind.ModeNorm, null, "mn:k=3")]
    [InlineData(NormalizerKind.ModeGroupNorm, null, "mgn:k=3")]
    [InlineData(NormalizerKind.HeterologousNorm, null, "hn:g=1")]
    [InlineData(NormalizerKind.HeterologousNorm, 2, "hn:g=2")]
    [InlineData(NormalizerKind.ExtendedNorm, 5, "en:g=5")]
    [InlineData(NormalizerKind.GroupNorm, null, "gn:g=32")]
    [InlineData(NormalizerKind.GroupNorm, 10, "gn:g=10")]
    [InlineData(NormalizerKind.LayerNorm, null, "ln")]
    [InlineData(NormalizerKind.InstanceNorm, null, "in")]
    [InlineData(NormalizerKind.SwitchableNorm, null, "sn")]
    public void TypedNormalizerIsWrittenAsItsFactoryString(NormalizerKind kind, int? groups, string expected)
    {
        var options = new ImageClassifierWithNormOptions { Normalizer = kind, Groups = groups, Modes = 3, GhostBatchSize = 16, ExamplesPerGroup = 4 };
        Assert.Equal(expected, options.GetNormalizerSpecification());
    }

    [Fact]
    public void FactoryStringWinsOverTheTypedNormalizer()
    {
        var options = new ImageClassifierWithNormOptions { Normalizer = NormalizerKind.GroupNorm, NormalizerSpecification = "hn:mean=bn,std=en2" };
        Assert.Equal("hn:mean=bn,std=en2", options.GetNormalizerSpecification());
        Assert.Equal("hn:mean=bn,std=en2", options.Resolve(Digits, 10, 0).Plan.Normalizer);
    }

    [Fact]
    public void ValidOptionsResolveToTheEngineOptionsWithTheContextSeed()
    {
        var options = new ImageClassifierWithNormOptions
        {
            Architecture = Architecture.ResNet20, Normalizer = NormalizerKind.GroupNorm, Groups = 8, Epochs = 3, BatchSize = 64,
            LearningRate = 0.05, NormWeightDecay = 1e-5, InferenceAlpha = 0.25, Device = ComputeDevice.Cpu,
        };
        var resolved = options.Resolve(new ImageShape(3, 32, 32), 10, contextSeed: 42);
        Assert.Equal(Architecture.ResNet20, resolved.Architecture);
        Assert.Equal("gn:g=8", resolved.Plan.Normalizer);
        Assert.Equal((3, 64, 0.05, 1e-5, 42UL), (resolved.Training.Epochs, resolved.Training.BatchSize, resolved.Training.LearningRate,
            resolved.Training.NormWeightDecay, resolved.Training.Seed));
        Assert.Equal(0.25, resolved.InferenceAlpha);
        Assert.Equal(DeviceType.CPU, resolved.Device.type);
        Assert.Equal(7UL, new ImageClassifierWithNormOptions { Seed = 7 }.Resolve(new ImageShape(3, 32, 32), 10, 42).Training.Seed);
    }

    [Fact]
    public void EveryTrainingOptionReachesTheEngineOptions()
    {
        // Each value differs from both the options' and the engine's defaults, so a field left unmapped shows.
        var stopping = new EarlyStoppingOptions { Patience = 2, MinDelta = 0.01 };
        var options = new ImageClassifierWithNormOptions
        {
            Architecture = Architecture.LeNet, Epochs = 4, BatchSize = 32, LearningRate = 0.02, Momentum = 0.5, WeightDecay = 3e-4,
            NormWeightDecay = 2e-5, GateWeightDecay = 1e-3, Schedule = LearningRateScheduleKind.Cosine, WarmupEpochs = 0.5,
            LabelSmoothing = 0.1, CropPadding = 2, HorizontalFlip = false, ValidationFraction = 0.1, EarlyStopping = stopping,
            WorkspacePath = "runs/x", Seed = 11,
        };
        var training = options.Resolve(Digits, 10, contextSeed: 0).Training;
        Assert.Equal(
            (4, 32, 0.02, 0.5, 3e-4, 2e-5, 1e-3, LearningRateScheduleKind.Cosine, 0.5, 0.1, 2, false, stopping, "runs/x", 11UL),
            (training.Epochs, training.BatchSize, training.LearningRate, training.Momentum, training.WeightDecay, training.NormWeightDecay,
             training.GateWeightDecay, training.Schedule, training.WarmupEpochs, training.LabelSmoothing, training.CropPadding,
             training.HorizontalFlip, training.EarlyStopping, training.WorkspacePath, training.Seed));
    }

    [Fact]
    public void GroupsThatDoNotDivideALayersChannelsAreRefusedWithTheLayerAndTheValidCounts()
    {
        // LeNet normalizes 20 and then 50 channels: 3 divides neither; 1, 2, 5 and 10 divide both.
        var options = new ImageClassifierWithNormOptions { Architecture = Architecture.LeNet, Normalizer = NormalizerKind.GroupNorm, Groups = 3 };
        var error = Assert.Throws<ArgumentException>(() => options.Resolve(Digits, 10, 0));
        Assert.Equal(nameof(ImageClassifierWithNormOptions.Groups), error.ParamName);
        Assert.Contains("ImageClassifierWithNormOptions.Groups: normalization layer 1 of LeNet has 20 channels", error.Message);
        Assert.Contains("group counts that divide them all: 1, 2, 5, 10.", error.Message);
    }

    [Fact]
    public void DefaultGroupCountThatDoesNotFitTheBackboneNamesTheNormalizer()
    {
        var options = new ImageClassifierWithNormOptions { Architecture = Architecture.LeNet, Normalizer = NormalizerKind.GroupNorm };
        var error = Assert.Throws<ArgumentException>(() => options.Resolve(Digits, 10, 0));
        Assert.Equal(nameof(ImageClassifierWithNormOptions.Normalizer), error.ParamName);
        Assert.Contains("\"gn:g=32\" cannot take", error.Message);
    }

    [Fact]
    public void GroupsOfAFactoryStringAreCheckedAgainstEveryLayerToo()
    {
        // The second layer (50 channels) is the one en:g=4 cannot split; the first (20) it can.
        var options = new ImageClassifierWithNormOptions { Architecture = Architecture.LeNet, NormalizerSpecification = "en:g=4" };
        var error = Assert.Throws<ArgumentException>(() => options.Resolve(Digits, 10, 0));
        Assert.Equal(nameof(ImageClassifierWithNormOptions.NormalizerSpecification), error.ParamName);
        Assert.Contains("normalization layer 2 of LeNet has 50 channels", error.Message);
    }

    public static TheoryData<string, Action<ImageClassifierWithNormOptions>, string> InvalidOptions => new()
    {
        { "Modes", o => { o.Normalizer = NormalizerKind.ModeNorm; o.Modes = 0; }, "must be >= 1" },
        { "GhostBatchSize", o => { o.Normalizer = NormalizerKind.GhostBatchNorm; o.GhostBatchSize = 64; o.BatchSize = 32; }, "larger than BatchSize 32" },
        { "GhostBatchSize", o => o.GhostBatchSize = 0, "must be >= 1" },
        { "ExamplesPerGroup", o => { o.Normalizer = NormalizerKind.BatchGroupNorm; o.ExamplesPerGroup = 40; o.BatchSize = 32; }, "larger than BatchSize 32" },
        { "Groups", o => o.Groups = 0, "must be >= 1" },
        { "InferenceAlpha", o => o.InferenceAlpha = 1.5, "must be in [0, 1]" },
        { "ValidationFraction", o => o.ValidationFraction = 1, "must be in [0, 1)" },
        { "EarlyStopping", o => o.EarlyStopping = new EarlyStoppingOptions(), "needs validation data" },
        { "NormalizerSpecification", o => o.NormalizerSpecification = "batchnorm", "valid forms" },
        { "Epochs", o => o.Epochs = 0, "must be >= 1" },
        { "BatchSize", o => o.BatchSize = 1, "must be >= 2" },
        { "LearningRate", o => o.LearningRate = double.NaN, "positive number" },
        { "Architecture", o => o.Architecture = (Architecture)99, "is not one of" },
        { "Normalizer", o => o.Normalizer = (NormalizerKind)99, "is not one of" },
        { "Device", o => o.Device = (ComputeDevice)99, "is not one of" },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void InvalidOptionIsRefusedBeforeTrainingNamingIt(string option, Action<ImageClassifierWithNormOptions> spoil, string reason)
    {
        var options = new ImageClassifierWithNormOptions { Architecture = Architecture.LeNet };
        spoil(options);
        var error = Assert.Throws<ArgumentException>(() => options.Resolve(Digits, 10, 0));
        Assert.Equal(option, error.ParamName);
        Assert.StartsWith($"ImageClassifierWithNormOptions.{option}: ", error.Message);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void CudaIsRefusedWhereTorchSharpHasNoneNamingThePackageToAdd()
    {
        var options = new ImageClassifierWithNormOptions { Architecture = Architecture.LeNet, Device = ComputeDevice.Cuda };
        if (cuda.is_available())
        {
            var device = options.Resolve(Digits, 10, 0).Device;
            Assert.Equal((DeviceType.CUDA, 0), (device.type, device.index));
            return;
        }
        var error = Assert.Throws<ArgumentException>(() => options.Resolve(Digits, 10, 0));
        Assert.Equal(nameof(ImageClassifierWithNormOptions.Device), error.ParamName);
        Assert.Contains("torch.cuda.is_available() is false", error.Message);
        Assert.Contains("TorchSharp-cuda-linux", error.Message);
        Assert.Contains("TorchSharp-cuda-windows", error.Message);
    }

    [Fact]
    public void CudaIsRefusedByFitBeforeAnyRowIsRead()
    {
        if (cuda.is_available()) return;
        var ml = new Microsoft.ML.MLContext(seed: 1);
        var rowsRead = 0;
        // A view whose rows count themselves as they are read: Fit must refuse the device before reading one.
        var rows = Enumerable.Range(0, 4).Select(i =>
        {
            rowsRead++;
            return new CountedRow { Label = (uint)(i % 2 + 1), Features = new float[28 * 28] };
        });
        var definition = Microsoft.ML.Data.SchemaDefinition.Create(typeof(CountedRow));
        definition[nameof(CountedRow.Label)].ColumnType = new Microsoft.ML.Data.KeyDataViewType(typeof(uint), 2);
        definition[nameof(CountedRow.Features)].ColumnType = new Microsoft.ML.Data.VectorDataViewType(Microsoft.ML.Data.NumberDataViewType.Single, 1, 28, 28);
        var data = ml.Data.LoadFromEnumerable(rows, definition);
        var trainer = ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(new ImageClassifierWithNormOptions
        {
            Architecture = Architecture.LeNet, Device = ComputeDevice.Cuda, Epochs = 1,
        });
        var error = Assert.Throws<ArgumentException>(() => trainer.Fit(data));
        Assert.Contains("TorchSharp-cuda-linux", error.Message);
        Assert.Equal(0, rowsRead);
    }

    /// <summary>A row of <see cref="CudaIsRefusedByFitBeforeAnyRowIsRead"/>'s data.</summary>
    public sealed class CountedRow
    {
        public uint Label { get; set; }

        public float[] Features { get; set; } = [];
    }

    [Fact]
    public void ImagesTooSmallForTheArchitectureAreRefusedNamingIt()
    {
        var options = new ImageClassifierWithNormOptions { Architecture = Architecture.Vgg11 };
        var error = Assert.Throws<ArgumentException>(() => options.Resolve(Digits, 10, 0));
        Assert.Contains("ImageClassifierWithNormOptions.Architecture: VGG-11 needs images of at least 32x32 pixels, got 28x28", error.Message);
    }

    [Fact]
    public void ResolvingLeavesTheGlobalGeneratorAsItWas()
    {
        manual_seed(5);
        using var expected = rand(4);
        manual_seed(5);
        new ImageClassifierWithNormOptions { Architecture = Architecture.ResNet20 }.Resolve(new ImageShape(3, 32, 32), 10, 0);
        using var actual = rand(4);
        Assert.Equal(expected.data<float>().ToArray(), actual.data<float>().ToArray());
    }
}
