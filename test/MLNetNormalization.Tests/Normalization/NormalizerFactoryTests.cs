using MLNetNormalization.Normalization;
using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Tests.Support;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>
/// The string factory: every documented form, the common parameters, and an error for every kind of mistake.
/// MN and MGN draw their initial gates from the global generator.
/// </summary>
[Collection(TestCollections.GlobalRandom)]
public class NormalizerFactoryTests
{
    private const long Channels = 64;

    private static NormalizationLayer Build(string specification) => NormalizerFactory.Create(specification, Channels);

    [Theory]
    [InlineData("bn", typeof(BatchNorm))]
    [InlineData("ln", typeof(LayerNorm))]
    [InlineData("in", typeof(InstanceNorm))]
    [InlineData("sn", typeof(SwitchableNorm))]
    public void NamesWithoutParametersBuildTheirLayer(string specification, Type type)
    {
        using var layer = Build(specification);
        Assert.IsType(type, layer);
        Assert.Equal(Channels, layer.Channels);
        Assert.Equal(1e-5, layer.Eps);
        Assert.Equal(0.1, layer.Momentum);
        Assert.Equal(layer.DefaultAlpha, layer.Alpha);
    }

    [Theory]
    [InlineData("ghost:b=32", 32)]
    [InlineData("ghost:b=3", 3)]
    public void GhostBatchNormTakesItsGhostSize(string specification, int ghostSize)
    {
        using var layer = Assert.IsType<GhostBatchNorm>(Build(specification));
        Assert.Equal(ghostSize, layer.GhostSize);
    }

    [Fact]
    public void BatchGroupNormTakesGroupsAndExamplesPerGroup()
    {
        using var layer = Assert.IsType<BatchGroupNorm>(Build("bgn:g=8,b=2"));
        Assert.Equal(8, layer.Groups);
        Assert.Equal(2, layer.ExamplesPerGroup);
        Assert.Equal(0.5, layer.Alpha);
    }

    [Theory]
    [InlineData("mn", 2)]
    [InlineData("mn:k=2", 2)]
    [InlineData("mn:k=3", 3)]
    [InlineData(" MN : k = 2 ", 2)]
    public void ModeNormTakesTheModeCount(string specification, int modes)
    {
        using var layer = Assert.IsType<ModeNorm>(Build(specification));
        Assert.Equal(modes, layer.Modes);
        Assert.Equal([modes, Channels], layer.GateWeight.shape);
    }

    [Theory]
    [InlineData("mgn", 2, false)]
    [InlineData("mgn:k=2", 2, false)]
    [InlineData("mgn:k=3,weighted=true", 3, true)]
    [InlineData("MGN: weighted = True , k = 4", 4, true)]
    [InlineData("mgn:k=2,weighted=false", 2, false)]
    public void ModeGroupNormTakesModesAndTheOutputWeighting(string specification, int modes, bool gateWeighted)
    {
        using var layer = Assert.IsType<ModeGroupNorm>(Build(specification));
        Assert.Equal(modes, layer.Modes);
        Assert.Equal(gateWeighted, layer.GateWeightedOutput);
    }

    [Theory]
    [InlineData("hn", "BN", "EN1", true)]
    [InlineData("hn:g=1", "BN", "EN1", true)]
    [InlineData("hn:g=4", "BN", "EN4", true)]
    [InlineData("hn:mean=gn8,std=en1", "GN8", "EN1", true)]
    [InlineData("hn:mean=in,std=ln", "IN", "LN", false)]
    [InlineData("hn:std=bn", "BN", "BN", true)]
    [InlineData("hn:mean=LN", "LN", "EN1", true)]
    [InlineData("hn: mean = GN4 , std = IN", "GN4", "IN", false)]
    public void HeterologousNormTakesItsMeanAndStdSets(string specification, string meanSet, string stdSet, bool hasRunningStatistics)
    {
        using var layer = Assert.IsType<HeterologousNorm>(Build(specification));
        Assert.Equal(meanSet, layer.MeanSet.Name);
        Assert.Equal(stdSet, layer.StdSet.Name);
        Assert.Equal(hasRunningStatistics, layer.HasRunningStatistics);
    }

    [Fact]
    public void HeterologousNormSetsAreTheCoreSets()
    {
        using var layer = Assert.IsType<HeterologousNorm>(Build("hn:mean=gn8,std=en2"));
        Assert.Equal(PixelSet.Group(8), layer.MeanSet);
        Assert.Equal(PixelSet.Extended(2), layer.StdSet);
    }

    [Theory]
    [InlineData("en", 1)]
    [InlineData("en:g=1", 1)]
    [InlineData("en:g=4", 4)]
    public void ExtendedNormTakesItsGroups(string specification, int groups)
    {
        using var layer = Assert.IsType<ExtendedNorm>(Build(specification));
        Assert.Equal(groups, layer.Groups);
    }

    [Theory]
    [InlineData("gn", 32)]
    [InlineData("gn:g=32", 32)]
    [InlineData("gn:g=8", 8)]
    public void GroupNormTakesItsGroups(string specification, int groups)
    {
        using var layer = Assert.IsType<GroupNorm>(Build(specification));
        Assert.Equal(groups, layer.Groups);
    }

    [Theory]
    [InlineData("bn")]
    [InlineData("ghost:b=4")]
    [InlineData("bgn:g=8,b=2")]
    [InlineData("mn:k=2")]
    [InlineData("mgn:k=3,weighted=true")]
    [InlineData("hn:g=4")]
    [InlineData("hn:mean=in,std=ln")]
    [InlineData("en:g=2")]
    [InlineData("gn:g=16")]
    [InlineData("ln")]
    [InlineData("in")]
    [InlineData("sn")]
    public void CommonParametersReachEveryLayer(string form)
    {
        var specification = form + (form.Contains(':') ? "," : ":") + "eps=1e-3, momentum=0.25, alpha=0.75";
        var factory = NormalizerFactory.Create(specification);
        using var layer = factory(Channels);
        Assert.Equal(1e-3, layer.Eps);
        Assert.Equal(0.25, layer.Momentum);
        Assert.Equal(0.75, layer.Alpha);
        // The factory builds a new layer for every call, with that call's channel count.
        using var other = factory(32);
        Assert.NotSame(layer, other);
        Assert.Equal(32, other.Channels);
        Assert.Equal(0.75, other.Alpha);

        using var plain = Build(form);
        Assert.Equal(plain.DefaultAlpha, plain.Alpha);
        Assert.Equal(plain.GetType(), layer.GetType());
    }

    [Theory]
    [InlineData("alpha=0")]
    [InlineData("alpha=1")]
    [InlineData("momentum=0")]
    [InlineData("momentum=1")]
    [InlineData("eps=1E-8")]
    public void BoundaryValuesOfTheCommonParametersAreAccepted(string parameter)
    {
        using var layer = Build("bn:" + parameter);
        Assert.IsType<BatchNorm>(layer);
    }

    /// <summary>Asserts that the specification is rejected when parsed (before any layer is built) and when building, with every fragment in the message.</summary>
    private static void AssertRejected(string specification, params string[] fragments)
    {
        var parseError = Assert.Throws<ArgumentException>(() => NormalizerFactory.Create(specification));
        var buildError = Assert.Throws<ArgumentException>(() => NormalizerFactory.Create(specification, Channels));
        Assert.Equal(parseError.Message, buildError.Message);
        Assert.Equal("specification", parseError.ParamName);
        foreach (var fragment in fragments) Assert.Contains(fragment, parseError.Message);
    }

    [Theory]
    [InlineData("batchnorm", "'batchnorm'")]
    [InlineData("bn2d", "'bn2d'")]
    [InlineData("foo:k=2", "'foo'")]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    public void AnUnknownNameListsTheValidForms(string specification, string problem)
    {
        AssertRejected(specification, problem, "valid forms", "bn", "ghost:b=<ghost batch size>", "bgn:g=<groups>,b=<examples per group>",
                       "mn:k=", "mgn:k=", "weighted=true", "hn:g=", "hn:mean=<set>,std=<set>", "en:g=", "gn:g=", "ln", "in", "sn",
                       "eps", "momentum", "alpha");
    }

    [Theory]
    [InlineData("mn:g=2", "'g=2'", "mn", "k=<value>")]
    [InlineData("mn:weighted=true", "'weighted=true'", "mn", "k=<value>")]
    [InlineData("bn:k=2", "'k=2'", "bn", "eps=<value>")]
    [InlineData("gn:groups=4", "'groups=4'", "gn", "g=<value>")]
    [InlineData("ghost:g=4,b=2", "'g=4'", "ghost", "b=<value>")]
    [InlineData("mn:k", "'k'", "mn", "k=<value>")]
    [InlineData("mn:", "''", "mn", "k=<value>")]
    public void AnUnknownParameterListsTheValidParameters(string specification, string problem, string name, string validParameter)
    {
        AssertRejected(specification, problem, $"not a parameter of {name}", validParameter, "eps=<value>", "momentum=<value>", "alpha=<value>");
    }

    [Theory]
    [InlineData("mn:k=0", "k must be a positive integer", "'0'")]
    [InlineData("mn:k=x", "k must be a positive integer", "'x'")]
    [InlineData("mn:k=2.5", "k must be a positive integer", "'2.5'")]
    [InlineData("mgn:k=-1", "k must be a positive integer", "'-1'")]
    [InlineData("gn:g=-1", "g must be a positive integer", "'-1'")]
    [InlineData("en:g=0", "g must be a positive integer", "'0'")]
    [InlineData("ghost:b=0", "b must be a positive integer", "'0'")]
    [InlineData("bgn:g=8,b=x", "b must be a positive integer", "'x'")]
    [InlineData("hn:g=0", "g must be a positive integer", "'0'")]
    [InlineData("mgn:weighted=yes", "weighted must be true or false", "'yes'")]
    [InlineData("bn:alpha=2", "alpha must be a number in [0, 1]", "'2'")]
    [InlineData("bn:alpha=-0.1", "alpha must be a number in [0, 1]", "'-0.1'")]
    [InlineData("bn:momentum=1.5", "momentum must be a number in [0, 1]", "'1.5'")]
    [InlineData("bn:eps=0", "eps must be a positive number", "'0'")]
    [InlineData("bn:eps=-1e-5", "eps must be a positive number", "'-1e-5'")]
    [InlineData("bn:eps=NaN", "eps must be a positive number", "'NaN'")]
    [InlineData("bn:eps=abc", "eps must be a positive number", "'abc'")]
    [InlineData("hn:mean=xx8", "mean must be one of bn, in, ln, gn<G>, en<G>", "'xx8'")]
    [InlineData("hn:mean=gn0", "mean must be one of bn, in, ln, gn<G>, en<G>", "'gn0'")]
    [InlineData("hn:std=en", "std must be one of bn, in, ln, gn<G>, en<G>", "'en'")]
    [InlineData("hn:std=gn-2", "std must be one of bn, in, ln, gn<G>, en<G>", "'gn-2'")]
    public void ABadValueNamesTheParameterTheValueAndWhatIsAllowed(string specification, string rule, string value)
    {
        AssertRejected(specification, rule, value, specification.Trim());
    }

    [Theory]
    [InlineData("mn:k=2,k=3", "k")]
    [InlineData("bn:eps=1e-3,EPS=1e-4", "eps")]
    public void ADuplicateKeyIsRejected(string specification, string key)
    {
        AssertRejected(specification, $"gives {key} twice", "once");
    }

    [Theory]
    [InlineData("hn:g=2,mean=bn")]
    [InlineData("hn:std=en2,g=2")]
    public void HeterologousNormTakesEitherGroupsOrSetsNotBoth(string specification)
    {
        AssertRejected(specification, "either g", "mean/std sets", "not both");
    }

    [Theory]
    [InlineData("ghost", "b is required", "ghost:b=<ghost batch size>")]
    [InlineData("ghost:eps=1e-3", "b is required", "ghost:b=<ghost batch size>")]
    [InlineData("bgn:b=2", "g is required", "bgn:g=<groups>,b=<examples per group>")]
    [InlineData("bgn:g=8", "b is required", "bgn:g=<groups>,b=<examples per group>")]
    public void AMissingRequiredParameterShowsTheForm(string specification, string problem, string usage)
    {
        AssertRejected(specification, problem, usage);
    }

    [Fact]
    public void AChannelCountTheLayerCannotTakeIsReportedWhenBuilding()
    {
        var factory = NormalizerFactory.Create("gn:g=32");
        var error = Assert.ThrowsAny<ArgumentException>(() => factory(48));
        Assert.Contains("48 channels", error.Message);
        Assert.Contains("32 groups", error.Message);
    }
}
