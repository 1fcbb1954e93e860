using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Support;
using MLNetNormalization.Tests.Trainers.Training;
using MLNetNormalization;
using MLNetNormalization.Backbones;
using MLNetNormalization.Training;

namespace MLNetNormalization.Tests.Trainers.Backbones;

/// <summary>A user's own backbone through <see cref="BackboneFactory"/>: built with the plan's normalizers, trained by the engine.</summary>
[Collection(TestCollections.GlobalRandom)]
public sealed class BackboneFactoryTests
{
    private static readonly BackboneFactory Tiny = (input, classes, norm) => nn.Sequential(
        new ConvNorm(nn.Conv2d(input.Channels, 6, 3, padding: 1, bias: false), norm(6)), nn.ReLU(),
        new ConvNorm(nn.Conv2d(6, 8, 3, padding: 1, bias: false), norm(8)), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, classes));

    [Fact]
    public void TheFactoryGetsTheShapeTheClassesAndThePlansNormalizersInNetworkOrder()
    {
        torch.manual_seed(11);
        var input = new ImageShape(1, 12, 12);
        using var model = Backbone.Create(Tiny, input, 4, new NormalizerPlan("mn:k=2", NormalizerPlacement.FirstLayerOnly));

        var units = model.named_modules().Select(m => m.module).OfType<ConvNorm>().ToList();
        Assert.Equal(2, units.Count);
        Assert.IsType<ModeNorm>(units[0].Norm);
        Assert.IsType<BatchNorm>(units[1].Norm);
        using var scope = NewDisposeScope();
        Assert.Equal([3L, 4], model.call(randn(3, 1, 12, 12)).shape);
    }

    [Fact]
    public void TheEngineTrainsAUsersBackboneToLearnTheStripes()
    {
        torch.manual_seed(12);
        using var model = Backbone.Create(Tiny, TrainerRuns.Train.Shape, TrainerRuns.Train.ClassNames.Count, plan: null);
        var options = TrainerRuns.Options() with { Epochs = 6, Milestones = [4] };
        var result = new ClassifierTrainer(options).Train(model, TrainerRuns.Train, TrainerRuns.Validation);
        // Four classes: chance is 0.25.
        Assert.True(result.FinalValidation!.MicroAccuracy >= 0.5, $"validation accuracy {result.FinalValidation.MicroAccuracy}");
    }

    [Fact]
    public void AFactoryThatReturnsNothingTrainableIsRefusedWithWhy()
    {
        var none = Assert.Throws<InvalidOperationException>(() => Backbone.Create((_, _, _) => null!, new ImageShape(1, 8, 8), 2, plan: null));
        Assert.Contains("returned null", none.Message, StringComparison.Ordinal);
        var empty = Assert.Throws<InvalidOperationException>(() => Backbone.Create((_, _, _) => nn.Sequential(nn.Flatten()), new ImageShape(1, 8, 8), 2, plan: null));
        Assert.Contains("no parameters", empty.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => Backbone.Create(Tiny, new ImageShape(1, 8, 8), 0, plan: null));
    }
}
