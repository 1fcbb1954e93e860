using MLNetNormalization.Normalization;
using MLNetNormalization.Normalization.Core;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>Bad input and bad options: an ArgumentException whose message names the layer, what was wrong (the shape) and a fix.</summary>
public class NormalizationInputErrorsTests
{
    public static TheoryData<string, string> LayersAndNames() => new()
    {
        { "bn", "BatchNorm" }, { "ghost", "GhostBatchNorm" }, { "bgn", "BatchGroupNorm" }, { "gn", "GroupNorm" },
        { "ln", "LayerNorm" }, { "in", "InstanceNorm" }, { "en", "ExtendedNorm" }, { "hn", "HeterologousNorm" },
    };

    [Theory]
    [MemberData(nameof(LayersAndNames))]
    public void WrongRankNamesTheLayerTheShapeAndTheExpectedLayout(string name, string layerName)
    {
        using var scope = NewDisposeScope();
        using var layer = LayerCatalog.Build(name);
        Assert.Equal(layerName, layer.LayerName);
        var error = Assert.Throws<ArgumentException>(() => layer.forward(ones([4, 3, 3])));
        AssertMentions(error, layerName, "[4, 3, 3]", "3D", "NCHW");
        error = Assert.Throws<ArgumentException>(() => layer.forward(ones([2, 4, 3, 3, 1])));
        AssertMentions(error, layerName, "[2, 4, 3, 3, 1]", "5D", "NCHW");
    }

    [Theory]
    [MemberData(nameof(LayersAndNames))]
    public void ChannelMismatchNamesTheLayerTheShapeAndBothCounts(string name, string layerName)
    {
        using var scope = NewDisposeScope();
        using var layer = LayerCatalog.Build(name);
        var error = Assert.Throws<ArgumentException>(() => layer.forward(ones([2, 6, 3, 3])));
        AssertMentions(error, layerName, "[2, 6, 3, 3]", "4 channels", "got 6", "channel count of the layer before");
    }

    [Theory]
    [MemberData(nameof(LayersAndNames))]
    public void NonFloatingInputIsRejected(string name, string layerName)
    {
        using var scope = NewDisposeScope();
        using var layer = LayerCatalog.Build(name);
        var error = Assert.Throws<ArgumentException>(() => layer.forward(ones([2, 4, 3, 3]).to(ScalarType.Int64)));
        AssertMentions(error, layerName, "Int64", "Float32");
    }

    [Theory]
    [InlineData("GroupNorm")]
    [InlineData("ExtendedNorm")]
    [InlineData("BatchGroupNorm")]
    public void ChannelsNotDivisibleByGroupsListTheValidGroupCounts(string layerName)
    {
        Func<NormalizationLayer> build = layerName switch
        {
            "GroupNorm" => () => new GroupNorm(30, 8),
            "ExtendedNorm" => () => new ExtendedNorm(30, 8),
            _ => () => new BatchGroupNorm(30, 8, 2),
        };
        var error = Assert.Throws<ArgumentException>(() => build());
        AssertMentions(error, layerName, "30 channels", "8 groups", "1, 2, 3, 5, 6, 10, 15, 30");
    }

    [Fact]
    public void GroupCountsBelowOneNameTheLayer()
    {
        AssertMentions(Assert.Throws<ArgumentOutOfRangeException>(() => new GroupNorm(4, 0)), "GroupNorm", "group count", "0");
        AssertMentions(Assert.Throws<ArgumentOutOfRangeException>(() => new ExtendedNorm(4, -2)), "ExtendedNorm", "group count", "-2");
        AssertMentions(Assert.Throws<ArgumentOutOfRangeException>(() => new BatchGroupNorm(4, 0, 2)), "BatchGroupNorm", "group count", "0");
        AssertMentions(Assert.Throws<ArgumentOutOfRangeException>(() => new BatchGroupNorm(4, 2, 0)), "BatchGroupNorm", "examples per group", "0");
        AssertMentions(Assert.Throws<ArgumentOutOfRangeException>(() => new GhostBatchNorm(4, -1)), "GhostBatchNorm", "ghost batch size", "-1");
    }

    [Fact]
    public void HeterologousSetsNotDividingTheChannelsListTheValidGroupCounts()
    {
        var error = Assert.Throws<ArgumentException>(() => new HeterologousNorm(12, PixelSet.Group(8), PixelSet.Batch));
        AssertMentions(error, "HeterologousNorm", "12 channels", "8 groups", "GN8", "1, 2, 3, 4, 6, 12");
        error = Assert.Throws<ArgumentException>(() => new HeterologousNorm(12, PixelSet.Batch, PixelSet.Extended(5)));
        AssertMentions(error, "HeterologousNorm", "12 channels", "5 groups", "EN5", "1, 2, 3, 4, 6, 12");
    }

    [Fact]
    public void HeterologousRejectsChunkedSets()
    {
        var error = Assert.Throws<ArgumentException>(() => new HeterologousNorm(4, PixelSet.Ghost(2), PixelSet.Batch));
        AssertMentions(error, "HeterologousNorm", "ghost2", "BN, IN, LN, GN(G), EN(G)");
    }

    /// <summary>A layer, a shape whose pixel set holds one value in training, the fix the message gives, and whether alpha 0 (running statistics alone) serves that shape at inference.</summary>
    public static TheoryData<string, long[], string, bool> SingleValueSets() => new()
    {
        { "bn", [1, 4, 1, 1], "more examples", true },
        { "ghost1", [3, 4, 1, 1], "more examples", true },   // every chunk is one example of one pixel
        { "bgn4x1", [3, 4, 1, 1], "more examples", true },   // one channel of one example of one pixel
        { "in", [4, 4, 1, 1], "larger feature maps", true },
        { "gn4", [4, 4, 1, 1], "larger feature maps", true },
        { "ln1", [4, 1, 1, 1], "larger feature maps", true },
        { "en4", [1, 4, 1, 1], "more examples", true },
        { "mn", [1, 4, 1, 1], "more examples", true },
        { "mgn1", [4, 1, 1, 1], "larger feature maps", true },
        { "hn-in", [4, 4, 1, 1], "larger feature maps", false },  // (BN mean, IN std): the IN set holds one value and has no running statistics
    };

    [Theory]
    [MemberData(nameof(SingleValueSets))]
    public void ASetOfOneValueIsRefusedInTrainingAndWhereInferenceUsesTheExampleAlone(string name, long[] shape, string fix, bool runningStatisticsServe)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(131);
        using NormalizationLayer layer = name switch
        {
            "bn" => new BatchNorm(4),
            "ghost1" => new GhostBatchNorm(4, 1),
            "bgn4x1" => new BatchGroupNorm(4, 4, 1),
            "in" => new InstanceNorm(4),
            "gn4" => new GroupNorm(4, 4),
            "ln1" => new LayerNorm(1),
            "en4" => new ExtendedNorm(4, 4),
            "mn" => new ModeNorm(4),
            "mgn1" => new ModeGroupNorm(1),
            _ => new HeterologousNorm(4, PixelSet.Batch, PixelSet.Instance),
        };
        var input = RandomInput(generator, shape, type: ScalarType.Float32);
        var error = Assert.Throws<ArgumentException>(() => layer.forward(input));
        AssertMentions(error, layer.LayerName, Describe(shape), "in training", "single value", fix);

        // At inference, running statistics alone (alpha 0) serve the shape where the layer keeps them for every set it
        // normalizes with; the example's own statistics (alpha 1) are refused, as training refuses them.
        layer.eval();
        layer.Alpha = 0;
        if (runningStatisticsServe)
            Assert.True(layer.forward(input).isfinite().all().item<bool>());
        else
            AssertMentions(Assert.Throws<ArgumentException>(() => layer.forward(input)), layer.LayerName, Describe(shape), "at inference (alpha = 0)", "single value", "a normalizer that pools over more channels");
        layer.Alpha = 1;
        error = Assert.Throws<ArgumentException>(() => layer.forward(input));
        AssertMentions(error, layer.LayerName, Describe(shape), "at inference (alpha = 1)", "single value", "larger feature maps", "an inference alpha below 1");
    }

    [Theory]
    [MemberData(nameof(LayersAndNames))]
    public void NonFiniteInputNamesTheLayerAndTheShape(string name, string layerName)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(132);
        using var layer = LayerCatalog.Build(name);
        foreach (var bad in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
        {
            var input = RandomInput(generator, [4, 4, 3, 3], type: ScalarType.Float32);
            using (no_grad()) input.narrow(0, 2, 1).narrow(1, 1, 1).narrow(2, 0, 1).narrow(3, 2, 1).fill_(bad);
            layer.train();
            var error = Assert.Throws<ArgumentException>(() => layer.forward(input));
            AssertMentions(error, layerName, "[4, 4, 3, 3]", "NaN or infinite");
            layer.eval();
            error = Assert.Throws<ArgumentException>(() => layer.forward(input));
            AssertMentions(error, layerName, "[4, 4, 3, 3]", "NaN or infinite");
            // Without a gradient, inference takes the table path.
            using (no_grad()) error = Assert.Throws<ArgumentException>(() => layer.forward(input));
            AssertMentions(error, layerName, "[4, 4, 3, 3]", "NaN or infinite");
        }
        // Nothing was folded into the running statistics.
        foreach (var (_, buffer) in layer.named_buffers()) Assert.True(buffer.isfinite().all().item<bool>());
    }

    [Theory]
    [MemberData(nameof(LayersAndNames))]
    public void EmptyInputIsRejectedAsSuch(string name, string layerName)
    {
        using var scope = NewDisposeScope();
        using var layer = LayerCatalog.Build(name);
        foreach (var training in new[] { true, false })
        {
            layer.train(training);
            foreach (long[] shape in new long[][] { [2, 4, 0, 3], [2, 4, 3, 0], [0, 4, 3, 3] })
            {
                var error = Assert.Throws<ArgumentException>(() => layer.forward(ones(shape)));
                AssertMentions(error, layerName, Describe(shape), "empty", "at least one example");
                Assert.DoesNotContain("NaN", error.Message);
            }
        }
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void AlphaOutsideZeroToOneIsRejected(double alpha)
    {
        foreach (var name in LayerCatalog.Names)
        {
            using var layer = LayerCatalog.Build(name);
            var before = layer.Alpha;
            var error = Assert.Throws<ArgumentOutOfRangeException>(() => layer.Alpha = alpha);
            AssertMentions(error, layer.LayerName, "alpha must be in [0, 1]");
            Assert.Equal(before, layer.Alpha);
        }
    }

    [Fact]
    public void BadEpsAndMomentumAreRejected()
    {
        AssertMentions(Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNorm(4, eps: -1e-5)), "BatchNorm", "eps must be positive");
        AssertMentions(Assert.Throws<ArgumentOutOfRangeException>(() => new GroupNorm(4, 2, eps: 0)), "GroupNorm", "eps must be positive");
        AssertMentions(Assert.Throws<ArgumentOutOfRangeException>(() => new InstanceNorm(4, eps: double.NaN)), "InstanceNorm", "eps must be positive");
        AssertMentions(Assert.Throws<ArgumentOutOfRangeException>(() => new LayerNorm(4, momentum: -0.1)), "LayerNorm", "momentum must be in [0, 1]");
        AssertMentions(Assert.Throws<ArgumentOutOfRangeException>(() => new ExtendedNorm(4, momentum: 1.5)), "ExtendedNorm", "momentum must be in [0, 1]");
        AssertMentions(Assert.Throws<ArgumentOutOfRangeException>(() => new HeterologousNorm(4, momentum: double.NaN)), "HeterologousNorm", "momentum must be in [0, 1]");
        AssertMentions(Assert.Throws<ArgumentOutOfRangeException>(() => new GhostBatchNorm(0, 2)), "GhostBatchNorm", "channel count must be positive");
    }

    private static void AssertMentions(Exception error, params string[] fragments)
    {
        foreach (var fragment in fragments)
            Assert.True(error.Message.Contains(fragment, StringComparison.Ordinal), $"the message does not mention \"{fragment}\": {error.Message}");
    }

    private static string Describe(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
