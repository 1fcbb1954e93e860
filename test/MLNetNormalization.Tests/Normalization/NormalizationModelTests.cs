using MLNetNormalization.Normalization;
using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Tests.Support;
using MLNetNormalization.TorchBinding.NN;
using MLNetNormalization.TorchBinding.Optim;
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
    private static Sequential SmallNetwork(Module? secondNormalizer = null)
    {
        Torch.ManualSeed(500);
        return new Sequential(
            new Conv2d(3, 4, 3, padding: 1), new ModeNorm(4), new ReLU(),
            new Conv2d(4, 4, 3), secondNormalizer ?? new BatchNorm(4), new ReLU(),
            new AdaptiveAvgPool2d(1, 1), new Flatten(), new Linear(4, 2));
    }

    /// <summary>The dotted names of <paramref name="tensors"/> in the model, matched by identity.</summary>
    private static string[] NamesOf(Module model, IEnumerable<Tensor> tensors)
    {
        var named = model.NamedParameters().ToList();
        return tensors.Select(t => named.Single(p => ReferenceEquals(p.Parameter, t)).Name).Order(StringComparer.Ordinal).ToArray();
    }

    private static void AssertEveryParameterInExactlyOneRole(Module model, ParameterRoles roles)
    {
        var all = roles.Weights.Concat(roles.NormalizationAffine).Concat(roles.Gating).ToList();
        Assert.Equal(all.Count, all.Distinct(ReferenceEqualityComparer.Instance).Count());
        Assert.Equal(model.NamedParameters().Select(p => p.Name).Order(StringComparer.Ordinal), NamesOf(model, all));
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
        using var model = new Sequential(new ModeGroupNorm(4), new Conv2d(4, 4, 1, bias: false), new SwitchableNorm(4), new GroupNorm(4, 2));
        var roles = NormalizationModel.SplitParameters(model);
        Assert.Equal(["1.weight"], NamesOf(model, roles.Weights));
        Assert.Equal(["0.bias", "0.weight", "2.bias", "2.weight", "3.bias", "3.weight"], NamesOf(model, roles.NormalizationAffine));
        Assert.Equal(["0.gate_scale", "0.gate_shift", "2.mean_logits", "2.var_logits"], NamesOf(model, roles.Gating));
        AssertEveryParameterInExactlyOneRole(model, roles);
    }

    [Fact]
    public void SplitParametersTreatsLibtorchBatchNorm2dAsANormalizationLayer()
    {
        // libtorch's BatchNorm2d is the backbones' default normalizer; its weight and bias are a gamma and a beta,
        // and must not get the weight decay of the convolutions.
        using var model = SmallNetwork(new BatchNorm2d(4));
        var roles = NormalizationModel.SplitParameters(model);
        Assert.Equal(["0.bias", "0.weight", "3.bias", "3.weight", "8.bias", "8.weight"], NamesOf(model, roles.Weights));
        Assert.Equal(["1.bias", "1.weight", "4.bias", "4.weight"], NamesOf(model, roles.NormalizationAffine));
        AssertEveryParameterInExactlyOneRole(model, roles);
    }

    /// <summary>One of each layer on 4 channels; every one but HN(IN, LN) keeps running statistics.</summary>
    private static Sequential EveryNormalizer() => new(
        new BatchNorm(4), new GhostBatchNorm(4, 2), new BatchGroupNorm(4, 2, 2), new GroupNorm(4, 2), new LayerNorm(4),
        new InstanceNorm(4), new ExtendedNorm(4), new HeterologousNorm(4), new HeterologousNorm(4, PixelSet.Instance, PixelSet.Layer),
        new ModeNorm(4), new ModeGroupNorm(4), new SwitchableNorm(4), new ReLU());

    [Fact]
    public void SetInferenceAlphaSetsEveryLayerWithRunningStatisticsAndResetRestoresTheDefaults()
    {
        Torch.ManualSeed(510);
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
        // The spec's defaults: 0 for batch statistics, 1 for per-example ones, 1/B_g for BGN.
        Assert.Equal(new double[] { 0, 0, 0.5, 1, 1, 1, 0, 0, 0, 0, 1, 0 }, layers.Select(l => l.Alpha));

        var error = Assert.ThrowsAny<ArgumentException>(() => NormalizationModel.SetInferenceAlpha(model, 1.5));
        Assert.Contains("alpha", error.Message);
        Assert.All(layers, l => Assert.Equal(l.DefaultAlpha, l.Alpha));
    }

    [Fact]
    public void SetInferenceAlphaChangesTheEvaluationOutputsAndResetRestoresThem()
    {
        Torch.ManualSeed(520);
        using var scope = Torch.NewDisposeScope();
        using var generator = new Generator(521);
        using var model = EveryNormalizer();
        for (var step = 0; step < 3; step++) model.Forward(RandomInput(generator, [4, 4, 3, 3], scale: 2, offset: 1 + step, type: ScalarType.Float32));
        model.Eval();
        var input = RandomInput(generator, [4, 4, 3, 3], scale: 3, offset: -1, type: ScalarType.Float32);
        var defaults = model.Forward(input);

        NormalizationModel.SetInferenceAlpha(model, 0.5);
        Assert.True(TestData.Values(model.Forward(input).Sub(defaults).Abs()).Max() > 1e-3);
        // Layer by layer: each layer with running statistics responds to alpha.
        foreach (var (name, layer) in NormalizationModel.Layers(model).Where(l => l.Layer.HasRunningStatistics))
        {
            var layerInput = RandomInput(generator, [2, 4, 3, 3], scale: 3, offset: 2, type: ScalarType.Float32);
            var atHalf = layer.Forward(layerInput);
            layer.Alpha = layer.DefaultAlpha == 0 ? 1 : 0;
            Assert.True(TestData.Values(layer.Forward(layerInput).Sub(atHalf).Abs()).Max() > 1e-3, $"{name} ({layer.LayerName}) ignores alpha");
        }

        NormalizationModel.ResetInferenceAlpha(model);
        AssertIdentical(defaults, model.Forward(input));
    }

    public static TheoryData<string> LayersWithGates => ["mn:k=3", "mgn:k=2", "mgn:k=3,weighted=true", "sn"];

    [Theory]
    [MemberData(nameof(LayersWithGates))]
    public void SaveAndLoadRoundTripBitForBitAfterTraining(string specification)
    {
        Torch.ManualSeed(530);
        using var scope = Torch.NewDisposeScope();
        using var generator = new Generator(531);
        using var trained = NormalizerFactory.Create(specification, 4);
        using (var optimizer = new SGD(trained.Parameters(), 0.1, momentum: 0.9))
        {
            for (var step = 0; step < 3; step++)
            {
                using var stepScope = Torch.NewDisposeScope();
                optimizer.ZeroGrad();
                var output = trained.Forward(RandomInput(generator, [4, 4, 3, 3], scale: 2, offset: step, type: ScalarType.Float32));
                GradientChecker.WeightedSum(output.To(ScalarType.Float64)).Backward();
                optimizer.Step();
            }
        }
        // Every parameter and buffer moved away from its initial value, so the round trip tests real values.
        using var fresh = NormalizerFactory.Create(specification, 4);
        foreach (var ((name, value), (_, initial)) in trained.State().Zip(fresh.State()))
            Assert.False(value.Equal(initial), $"{name} did not change in training");

        using var directory = new TempDirectory();
        trained.Save(directory.File("layer.bin"));
        fresh.Load(directory.File("layer.bin"));
        Assert.Equal(trained.State().Select(s => s.Name), fresh.State().Select(s => s.Name));
        foreach (var ((_, expected), (_, actual)) in trained.State().Zip(fresh.State())) AssertIdentical(expected, actual);

        trained.Eval();
        fresh.Eval();
        foreach (var alpha in new[] { 0.0, 0.5, 1.0 })
        {
            trained.Alpha = fresh.Alpha = alpha;
            var input = RandomInput(generator, [3, 4, 3, 3], scale: 2, offset: 1, type: ScalarType.Float32);
            AssertIdentical(trained.Forward(input), fresh.Forward(input));
        }
    }
}
