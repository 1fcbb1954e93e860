using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetNormalization.Backbones;
using MLNetNormalization.Tests.Support;
using MLNetNormalization.Tests.Sweeps;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>
/// A backbone of the user's own, registered by name: trained through the ML.NET pipeline, saved and loaded by that
/// name; the refusals of a name nothing is registered under and of an output that is not [N, classes]; the warning for
/// a factory that ignores the normalization function.
/// </summary>
[Collection(TestCollections.GlobalRandom)]
public sealed class OwnBackboneTests : IDisposable
{
    // LeNet itself, as a user's factory: the same network as the built-in, so the same seed must give the same weights.
    private static readonly BackboneFactory LeNetOfMyOwn = (input, classes, normalization) => new LeNet(input, classes, normalization);
    private static readonly BackboneFactory TooManyOutputs = (input, classes, normalization) => nn.Sequential(
        new ConvNorm(nn.Conv2d(input.Channels, 4, 3, bias: false), normalization(4)), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, classes + 1));
    private static readonly BackboneFactory OwnNormalizers = (input, classes, _) => nn.Sequential(
        new ConvNorm(nn.Conv2d(input.Channels, 4, 3, bias: false), nn.BatchNorm2d(4)), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, classes));

    static OwnBackboneTests()
    {
        BackboneRegistry.Register("test-lenet", LeNetOfMyOwn);
        BackboneRegistry.Register("test-too-many-outputs", TooManyOutputs);
        BackboneRegistry.Register("test-own-normalizers", OwnNormalizers);
    }

    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    private static ImageClassifierWithNormOptions Options(string? backbone) => new()
    {
        Architecture = Architecture.LeNet, Backbone = backbone, NormalizerSpecification = "mn:k=2", Epochs = 1, BatchSize = 32,
        CropPadding = 0, HorizontalFlip = false, Device = ComputeDevice.Cpu,
    };

    private static float[][] Scores(ITransformer model, IDataView data) =>
        [.. model.Transform(data).GetColumn<float[]>("Score")];

    [Fact]
    public void AFactoryOfTheBuiltInsNetworkTrainsToItsWeightsBitForBitAndLoadsByItsName()
    {
        var (ml, train, validation) = SweepTestData.Load();
        using var builtIn = ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(Options(null)).Fit(train);
        (ml, train, validation) = SweepTestData.Load();
        using var own = ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(Options("test-lenet")).Fit(train);

        Assert.Equal("LeNet", builtIn.Backbone);
        Assert.Equal(Architecture.LeNet, builtIn.Architecture);
        Assert.Equal("test-lenet", own.Backbone);
        Assert.Null(own.Architecture);
        var expected = Scores(builtIn, validation);
        Assert.Equal(expected, Scores(own, validation));

        var path = temp.File("own.zip");
        ml.Model.Save(own, train.Schema, path);
        var loaded = ml.Model.Load(path, out _);
        Assert.Equal("test-lenet", Assert.IsType<ImageClassificationTransformer>(loaded).Backbone);
        Assert.Equal(expected, Scores(loaded, validation));
        (loaded as IDisposable)?.Dispose();
    }

    [Fact]
    public void ANameNothingIsRegisteredUnderIsRefusedBeforeAnyReadingNamingWhatToRegister()
    {
        var (ml, train, _) = SweepTestData.Load();
        var error = Assert.Throws<ArgumentException>(() => ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(Options("nowhere")).Fit(train));
        Assert.Equal(nameof(ImageClassifierWithNormOptions.Backbone), error.ParamName);
        Assert.Contains("no backbone named 'nowhere' is registered", error.Message);
        Assert.Contains("BackboneRegistry.Register(\"nowhere\", factory)", error.Message);
        Assert.Contains("test-lenet", error.Message);
    }

    [Fact]
    public void AnOutputThatIsNotOneRowOfClassesPerImageIsRefusedAtTheFirstBatchWithItsShape()
    {
        var (ml, train, _) = SweepTestData.Load();
        var error = Assert.Throws<InvalidOperationException>(() => ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(Options("test-too-many-outputs")).Fit(train));
        Assert.Contains("a batch of 32 images of 1x28x28 is [32, 11]", error.Message);
        Assert.Contains("here [32, 10]", error.Message);
    }

    [Fact]
    public void AFactoryThatIgnoresTheNormalizationFunctionIsWarnedInTheLog()
    {
        var (ml, train, _) = SweepTestData.Load();
        var warnings = new List<string>();
        ml.Log += (_, e) => { if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Warning) warnings.Add(e.Message); };
        using var model = ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(Options("test-own-normalizers")).Fit(train);
        Assert.Contains(warnings, w => w.Contains("'test-own-normalizers' has no normalization layer of this library", StringComparison.Ordinal)
                                       && w.Contains("\"mn:k=2\" is not in the network", StringComparison.Ordinal));
    }

    [Fact]
    public void TheBuiltInArchitecturesAreRegisteredAndTheirNamesAreTaken()
    {
        Assert.Subset(BackboneRegistry.Names.ToHashSet(), Enum.GetNames<Architecture>().ToHashSet());
        var error = Assert.Throws<ArgumentException>(() => BackboneRegistry.Register("LeNet", LeNetOfMyOwn));
        Assert.Contains("'LeNet' is registered already (a built-in architecture)", error.Message);
        BackboneRegistry.Register("test-lenet", LeNetOfMyOwn);   // the same factory again: nothing happens
        Assert.Throws<ArgumentException>(() => BackboneRegistry.Register("test-lenet", TooManyOutputs));
    }
}
