using MLNetNormalization.Normalization;
using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Tests.Support;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>
/// Whole-model operations: parameter roles, model-wide inference alpha, and save/load of the layers with
/// gates and mixing weights. Conv, Linear, MN and MGN draw their initial values from the global generator.
/// </summary>
[Collection(TestCollections.GlobalRandom)]
public class NormalizationModelTests
{
    /// <summary>Conv2d + ModeNorm + Conv2d + BatchNorm + Linear, seeded.</summary>
    private static TorchSharp.Modules.Sequential SmallNetwork(nn.Module<Tensor, Tensor>? secondNormalizer = null)
    {
        manual_seed(500);
        return nn.Sequential(
            nn.Conv2d(3, 4, 3, padding: 1), new ModeNorm(4), nn.ReLU(),
            nn.Conv2d(4, 4, 3), secondNormalizer ?? new BatchNorm(4), nn.ReLU(),
            nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(4, 2));
    }

    /// <summary>The dotted names of <paramref name="tensors"/> in the model, matched by identity.</summary>
    private static string[] NamesOf(nn.Module model, IEnumerable<Tensor> tensors)
    {
        var named = model.named_parameters().ToList();
        return tensors.Select(t => named.Single(p => ReferenceEquals(p.parameter, t)).name).Order(StringComparer.Ordinal).ToArray();
    }

    private static void AssertEveryParameterInExactlyOneRole(nn.Module model, ParameterRoles roles)
    {
        var all = roles.Weights.Concat(roles.NormalizationAffine).Concat(roles.Gating).ToList();
        Assert.Equal(all.Count, all.Distinct(ReferenceEqualityComparer.Instance).Count());
        Assert.Equal(model.named_parameters().Select(p => p.name).Order(StringComparer.Ordinal), NamesOf(model, all));
    }

    [Fact]
    public void SplitParametersGivesEveryParameterExactlyOneRole()
    {
        using var model = SmallNetwork();
        var roles = NormalizationModel.SplitParameters(model);
        Assert.Equal(["0.bias", "0.weight", "3.bias", "3.weight", "8.bias", "8.weight"], NamesOf(model, roles.Weights));
        Assert.Equal(["1.bias", "1.weight", "4.bias", "4.weight"], NamesOf(model, roles.NormalizationAffine));
        Assert.Equal(["1.gate_bias", "1.gate_weight"], NamesOf(model, roles.Gating));
        AssertEveryParameterInExactlyOneRole(model, roles);
    }

    [Fact]
    public void SplitParametersFindsTheGatesOfModeGroupNormAndTheMixingLogitsOfSwitchableNorm()
    {
        using var model = nn.Sequential(new ModeGroupNorm(4), nn.Conv2d(4, 4, 1, bias: false), new SwitchableNorm(4), new GroupNorm(4, 2));
        var roles = NormalizationModel.SplitParameters(model);
        Assert.Equal(["1.weight"], NamesOf(model, roles.Weights));
        Assert.Equal(["0.bias", "0.weight", "2.bias", "2.weight", "3.bias", "3.weight"], NamesOf(model, roles.NormalizationAffine));
        Assert.Equal(["0.gate_scale", "0.gate_shift", "2.mean_logits", "2.var_logits"], NamesOf(model, roles.Gating));
        AssertEveryParameterInExactlyOneRole(model, roles);
    }

    [Fact]
    public void SplitParametersTreatsLibtorchBatchNorm2dAsANormalizationLayer()
    {
        // TorchSharp's BatchNorm2d (libtorch's) is the backbones' default normalizer; its weight and bias are a gamma and a beta,
        // and must not get the weight decay of the convolutions.
        using var model = SmallNetwork(nn.BatchNorm2d(4));
        var roles = NormalizationModel.SplitParameters(model);
        Assert.Equal(["0.bias", "0.weight", "3.bias", "3.weight", "8.bias", "8.weight"], NamesOf(model, roles.Weights));
        Assert.Equal(["1.bias", "1.weight", "4.bias", "4.weight"], NamesOf(model, roles.NormalizationAffine));
        AssertEveryParameterInExactlyOneRole(model, roles);
    }

    /// <summary>One of each layer on 4 channels; every one but HN(IN, LN) keeps running statistics.</summary>
    private static TorchSharp.Modules.Sequential EveryNormalizer() => nn.Sequential(
        new BatchNorm(4), new GhostBatchNorm(4, 2), new BatchGroupNorm(4, 2, 2), new GroupNorm(4, 2), new LayerNorm(4),
        new InstanceNorm(4), new ExtendedNorm(4), new HeterologousNorm(4), new HeterologousNorm(4, PixelSet.Instance, PixelSet.Layer),
        new ModeNorm(4), new ModeGroupNorm(4), new SwitchableNorm(4), nn.ReLU());

    [Fact]
    public void SetInferenceAlphaSetsEveryLayerWithRunningStatisticsAndResetRestoresTheDefaults()
    {
        manual_seed(510);
        using var model = EveryNormalizer();
        var layers = NormalizationModel.Layers(model).Select(l => l.Layer).ToList();
        Assert.Equal(12, layers.Count);
        var perExampleOnly = (HeterologousNorm)layers[8];
        Assert.False(perExampleOnly.HasRunningStatistics);

        Assert.Equal(11, NormalizationModel.SetInferenceAlpha(model, 0.3));
        Assert.All(layers.Where(l => l.HasRunningStatistics), l => Assert.Equal(0.3, l.Alpha));
        Assert.Equal(perExampleOnly.DefaultAlpha, perExampleOnly.Alpha);

        NormalizationModel.ResetInferenceAlpha(model);
        Assert.All(layers, l => Assert.Equal(l.DefaultAlpha, l.Alpha));
        // The defaults of docs/normalizers.md: 0 for batch statistics, 1 for per-example ones, 1/B_g for BGN.
        Assert.Equal(new double[] { 0, 0, 0.5, 1, 1, 1, 0, 0, 0, 0, 1, 0 }, layers.Select(l => l.Alpha));

        var error = Assert.ThrowsAny<ArgumentException>(() => NormalizationModel.SetInferenceAlpha(model, 1.5));
        Assert.Contains("alpha", error.Message);
        Assert.All(layers, l => Assert.Equal(l.DefaultAlpha, l.Alpha));
    }

    [Fact]
    public void SetInferenceAlphaChangesTheEvaluationOutputsAndResetRestoresThem()
    {
        manual_seed(520);
        using var scope = NewDisposeScope();
        using var generator = new Generator(521);
        using var model = EveryNormalizer();
        for (var step = 0; step < 3; step++) model.forward(RandomInput(generator, [4, 4, 3, 3], scale: 2, offset: 1 + step, type: ScalarType.Float32));
        model.eval();
        var input = RandomInput(generator, [4, 4, 3, 3], scale: 3, offset: -1, type: ScalarType.Float32);
        var defaults = model.forward(input);

        NormalizationModel.SetInferenceAlpha(model, 0.5);
        Assert.True(TestData.Values(model.forward(input).sub(defaults).abs()).Max() > 1e-3);
        // Layer by layer: each layer with running statistics responds to alpha.
        foreach (var (name, layer) in NormalizationModel.Layers(model).Where(l => l.Layer.HasRunningStatistics))
        {
            var layerInput = RandomInput(generator, [2, 4, 3, 3], scale: 3, offset: 2, type: ScalarType.Float32);
            var atHalf = layer.forward(layerInput);
            layer.Alpha = layer.DefaultAlpha == 0 ? 1 : 0;
            Assert.True(TestData.Values(layer.forward(layerInput).sub(atHalf).abs()).Max() > 1e-3, $"{name} ({layer.LayerName}) ignores alpha");
        }

        NormalizationModel.ResetInferenceAlpha(model);
        AssertIdentical(defaults, model.forward(input));
    }

    public static TheoryData<string> LayersWithGates => ["mn:k=3", "mgn:k=2", "mgn:k=3,weighted=true", "sn"];

    [Theory]
    [MemberData(nameof(LayersWithGates))]
    public void SaveAndLoadRoundTripBitForBitAfterTraining(string specification)
    {
        manual_seed(530);
        using var scope = NewDisposeScope();
        using var generator = new Generator(531);
        using var trained = NormalizerFactory.Create(specification, 4);
        using (var optimizer = optim.SGD(trained.parameters(), 0.1, momentum: 0.9))
        {
            for (var step = 0; step < 3; step++)
            {
                using var stepScope = NewDisposeScope();
                optimizer.zero_grad();
                var output = trained.forward(RandomInput(generator, [4, 4, 3, 3], scale: 2, offset: step, type: ScalarType.Float32));
                GradientChecker.WeightedSum(output.to(ScalarType.Float64)).backward();
                optimizer.step();
            }
        }
        // Every parameter and buffer moved away from its initial value, so the round trip tests real values.
        using var fresh = NormalizerFactory.Create(specification, 4);
        foreach (var ((name, value), (_, initial)) in trained.state_dict().Zip(fresh.state_dict()))
            Assert.False(value.Equals(initial), $"{name} did not change in training");

        // TorchSharp's own format (Module.save/load): the loaded state must be bit-identical, names and types included.
        using var directory = new TempDirectory();
        trained.save(directory.File("layer.bin"));
        fresh.load(directory.File("layer.bin"));
        Assert.Equal(trained.state_dict().Keys, fresh.state_dict().Keys);
        foreach (var ((_, expected), (_, actual)) in trained.state_dict().Zip(fresh.state_dict())) AssertIdentical(expected, actual);

        trained.eval();
        fresh.eval();
        foreach (var alpha in new[] { 0.0, 0.5, 1.0 })
        {
            trained.Alpha = fresh.Alpha = alpha;
            var input = RandomInput(generator, [3, 4, 3, 3], scale: 2, offset: 1, type: ScalarType.Float32);
            AssertIdentical(trained.forward(input), fresh.forward(input));
        }
    }
}
