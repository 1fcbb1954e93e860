using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Support;
using MLNetNormalization.Backbones;
using MLNetNormalization.Inference;
using Xunit.Abstractions;

namespace MLNetNormalization.Tests.Trainers.Folding;

/// <summary>
/// Folding a trained model's fixed inference affines into its convolutions: the oracle is the unfolded
/// model's own evaluation output on the same input. Modules initialise from the global generator, hence
/// the collection.
/// </summary>
[Collection(TestCollections.GlobalRandom)]
public class ModelFoldingTests(ITestOutputHelper output)
{
    // The issue's target: the folded model's output equals the unfolded one within 1e-5, relative to its largest value.
    private const double Float32Tolerance = 1e-5;

    // In float64 the fold is exact up to rounding, so a small error in the algebra would show far above this.
    private const double Float64Tolerance = 1e-12;

    [Theory]
    [InlineData("bn")]
    [InlineData("ghost:b=4")]
    [InlineData("en:g=1")]
    [InlineData("en:g=2")]
    [InlineData("hn")]
    [InlineData("hn:mean=bn,std=en2")]
    [InlineData("libtorch")]
    // Per-example normalizers keep per-channel running moments too; with alpha = 0 they use only those.
    [InlineData("gn:g=2,alpha=0")]
    [InlineData("mn:k=1")]
    public void FoldedModelComputesTheUnfoldedModelsOutput(string normalizer)
    {
        var relative = FoldTrainedModel(normalizer, ScalarType.Float32, seed: 400);
        Assert.True(relative <= Float32Tolerance, $"{normalizer}: max |folded - unfolded| / max |unfolded| = {relative:E3} > {Float32Tolerance:E0}.");
    }

    [Theory]
    [InlineData("bn")]
    [InlineData("hn:mean=bn,std=en2")]
    [InlineData("libtorch")]
    public void InFloat64TheFoldIsExactUpToRounding(string normalizer)
    {
        var relative = FoldTrainedModel(normalizer, ScalarType.Float64, seed: 401);
        Assert.True(relative <= Float64Tolerance, $"{normalizer}: max |folded - unfolded| / max |unfolded| = {relative:E3} > {Float64Tolerance:E0}.");
    }

    /// <summary>
    /// Trains a <see cref="FoldingNet"/>, folds it, checks the report, the structure and the kept convolution
    /// options, and returns max |folded - unfolded| / max |unfolded| over the feature maps and over the logits.
    /// </summary>
    private double FoldTrainedModel(string normalizer, ScalarType type, ulong seed)
    {
        torch.manual_seed((long)seed);
        using var scope = NewDisposeScope();
        using var generator = new Generator(seed);
        using var model = new FoldingNet(FoldingNet.Normalizer(normalizer));
        model.to(type);
        model.TrainSteps(generator);
        var convOptions = model.Units.Select(ConvOptions).ToList();

        model.eval();
        var x = FoldingNet.Input(generator, 5, type);
        var features = model.Features.call(x).detach().clone();
        var logits = model.call(x).detach().clone();
        var randomState = TestData.RawBytes(random.get_rng_state());

        var report = ModelFolding.Fold(model);

        Assert.Equal(FoldingNet.NormNames, report.Folded);
        Assert.Empty(report.NotFolded);
        Assert.All(model.Units, u => Assert.IsType<TorchSharp.Modules.Identity>(u.Norm));
        Assert.Equal(convOptions, model.Units.Select(ConvOptions));
        Assert.All(model.Units, u => Assert.Equal(type, u.Conv.bias!.dtype));
        // The folded layers' gamma, beta and running statistics are gone from the model's state.
        Assert.DoesNotContain(model.state_dict(), s => FoldingNet.NormNames.Any(n => s.Key.StartsWith(n + ".", StringComparison.Ordinal)));
        Assert.Equal(["features.0.conv.bias", "features.2.conv.bias", "features.4.conv.bias", "features.5.conv.bias"],
            model.named_parameters().Select(p => p.name).Where(n => n.EndsWith(".bias", StringComparison.Ordinal) && n.StartsWith("features.", StringComparison.Ordinal)));
        // Building the folded convolutions drew nothing from the global generator.
        Assert.Equal(randomState, TestData.RawBytes(random.get_rng_state()));

        using var noGrad = no_grad();
        var featureDifference = RelativeDifference(features, model.Features.call(x));
        var logitDifference = RelativeDifference(logits, model.call(x));
        output.WriteLine($"{normalizer} ({type}): max relative difference {featureDifference:E3} (feature maps), {logitDifference:E3} (logits)");
        return Math.Max(featureDifference, logitDifference);
    }

    [Theory]
    [InlineData("mn", "ModeNorm's statistics depend on the input")]
    [InlineData("gn:g=2", "GroupNorm weighs each example's own statistics in at inference (alpha = 1); set Alpha = 0")]
    [InlineData("bn:alpha=0.5", "BatchNorm weighs each example's own statistics in at inference (alpha = 0.5); set Alpha = 0")]
    [InlineData("hn:mean=bn,std=gn2", "HeterologousNorm's statistics depend on the input")]
    [InlineData("sn", "SwitchableNorm's statistics depend on the input")]
    [InlineData("mgn", "ModeGroupNorm's statistics depend on the input")]
    public void NormalizersWhoseOutputIsNoFixedAffineAreReportedAndLeft(string normalizer, string reason)
    {
        torch.manual_seed(402);
        using var scope = NewDisposeScope();
        using var generator = new Generator(402);
        using var model = new FoldingNet(FoldingNet.Normalizer(normalizer));
        model.TrainSteps(generator);
        var norms = model.Units.Select(u => u.Norm).ToList();
        model.eval();
        var x = FoldingNet.Input(generator, 5);
        var before = model.call(x).detach().clone();
        var stateNames = model.state_dict().Select(s => s.Key).ToList();

        var report = ModelFolding.Fold(model);

        Assert.Empty(report.Folded);
        Assert.Equal(FoldingNet.NormNames, report.NotFolded.Select(u => u.Name));
        Assert.All(report.NotFolded, u => Assert.StartsWith(reason, u.Reason, StringComparison.Ordinal));
        Assert.Contains($"features.2.norm: {reason}", report.ToString(), StringComparison.Ordinal);
        Assert.Equal(norms, model.Units.Select(u => u.Norm));
        Assert.Equal(stateNames, model.state_dict().Select(s => s.Key));
        Assert.Equal(TestData.RawBytes(before), TestData.RawBytes(model.call(x)));
    }

    [Fact]
    public void OnlyTheFoldableLayersOfAMixedModelAreFolded()
    {
        torch.manual_seed(403);
        using var scope = NewDisposeScope();
        using var generator = new Generator(403);
        // BN in the first layer, mode normalization in the others (the MN paper's "init" setting).
        using var model = new FoldingNet(new NormalizerPlan("bn", NormalizerPlacement.FirstLayerOnly, "mn").NewFactory());
        model.TrainSteps(generator);
        model.eval();
        var x = FoldingNet.Input(generator, 5);
        var before = model.call(x).detach().clone();

        var report = ModelFolding.Fold(model);

        Assert.Equal(["features.0.norm"], report.Folded);
        Assert.Equal(FoldingNet.NormNames[1..], report.NotFolded.Select(u => u.Name));
        Assert.All(report.NotFolded, u => Assert.StartsWith("ModeNorm's statistics depend on the input", u.Reason, StringComparison.Ordinal));
        Assert.IsType<TorchSharp.Modules.Identity>(model.Units[0].Norm);
        Assert.All(model.Units.Skip(1), u => Assert.IsType<ModeNorm>(u.Norm));
        using var noGrad = no_grad();
        var relative = RelativeDifference(before, model.call(x));
        output.WriteLine($"bn first, mn others: max relative difference {relative:E3}");
        Assert.True(relative <= Float32Tolerance, $"max |folded - unfolded| / max |unfolded| = {relative:E3} > {Float32Tolerance:E0}.");
    }

    [Fact]
    public void FoldingPutsTheModelInEvaluationModeAndASecondFoldFindsNothingToFold()
    {
        torch.manual_seed(404);
        using var scope = NewDisposeScope();
        using var model = new FoldingNet(FoldingNet.Normalizer("bn"));
        Assert.True(model.training);

        Assert.Equal(FoldingNet.NormNames, ModelFolding.Fold(model).Folded);
        Assert.All(model.named_modules(), m => Assert.False(m.module.training));

        var again = ModelFolding.Fold(model);
        Assert.Empty(again.Folded);
        Assert.All(again.NotFolded, u => Assert.Contains("the normalizer is an Identity (already folded", u.Reason, StringComparison.Ordinal));
    }

    [Fact]
    public void NormalizersOutsideConvNormUnitsAreReportedAsHavingNoConvolutionToFoldInto()
    {
        torch.manual_seed(405);
        using var scope = NewDisposeScope();
        using var model = nn.Sequential(nn.Conv2d(3, 4, 3), new BatchNorm(4), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.BatchNorm2d(4));

        var report = ModelFolding.Fold(model);

        Assert.Empty(report.Folded);
        Assert.Equal(["1", "4"], report.NotFolded.Select(u => u.Name));
        Assert.All(report.NotFolded, u => Assert.Contains("is not the \"norm\" of a ConvNorm unit", u.Reason, StringComparison.Ordinal));
        Assert.IsType<BatchNorm>(model.named_children().ElementAt(1).module);
    }

    // What folding must keep of a convolution: sizes, stride, padding, dilation, groups (as text, so that arrays compare by value).
    private static string ConvOptions(ConvNorm unit) =>
        $"[{string.Join(",", unit.Conv.weight.shape)}] stride [{string.Join(",", unit.Conv.stride)}] padding [{string.Join(",", unit.Conv.padding ?? [])}] " +
        $"dilation [{string.Join(",", unit.Conv.dilation)}] groups {unit.Conv.groups}";

    // max |actual - expected| / max |expected|, in float64.
    private static double RelativeDifference(Tensor expected, Tensor actual)
    {
        using var scope = NewDisposeScope();
        var reference = expected.to(ScalarType.Float64);
        var largest = reference.abs().max().item<double>();
        Assert.True(largest > 0, "the reference output is all zeros, so the comparison would prove nothing.");
        return actual.to(ScalarType.Float64).sub(reference).abs().max().item<double>() / largest;
    }
}
