using MLNetNormalization.Backbones;
using MLNetNormalization.Tests.Support;

namespace MLNetNormalization.Tests.Trainers.Backbones;

/// <summary>
/// The channel counts the options check a normalizer against come from each backbone's configuration, without building
/// it; a real build's factory calls are the oracle they must match, in number, order and value.
/// </summary>
[Collection(TestCollections.GlobalRandom)]
public sealed class NormalizedChannelsTests
{
    public static TheoryData<Architecture> Architectures() => [.. Enum.GetValues<Architecture>()];

    [Theory]
    [MemberData(nameof(Architectures))]
    public void TheConfigurationsChannelsAreThoseABuildAsksItsNormalizerFor(Architecture architecture)
    {
        const int Classes = 7;
        var side = Math.Max(32, Backbone.MinimumImageSize(architecture));
        var asked = new List<long>();
        using (var model = Backbone.Create(architecture, new ImageShape(3, side, side), Classes, c =>
        {
            asked.Add(c);
            return nn.Identity();
        }))
        {
            Assert.Equal(asked, Backbone.NormalizedChannels(architecture, Classes));
        }
    }
}
