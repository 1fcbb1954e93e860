using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Support;
using MLNetNormalization.Backbones;
using MLNetNormalization.Training;

namespace MLNetNormalization.Tests.Trainers.Training;

/// <summary>
/// The trainer gives convolution and linear weights, normalizer gammas and betas, and gates their own weight
/// decay. Observed on parameters whose gradient is exactly 0: with SGD without momentum each step is then
/// p ← p - lr·(0 + wd·p), so after n steps p = p0·(1 - lr·wd)^n, and the factor tells which decay a
/// parameter got.
/// </summary>
[Collection(TestCollections.GlobalRandom)]
public sealed class WeightDecayGroupTests
{
    /// <summary>
    /// A trainable path, and beside it a ConvNorm unit with a mode normalizer (which has gates) whose output is
    /// multiplied by 0 before it joins the logits: its parameters get gradients, all exactly 0.
    /// </summary>
    private sealed class DeadBranchNet : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Sequential live, dead;

        public DeadBranchNet() : base(nameof(DeadBranchNet))
        {
            live = nn.Sequential(
                new ConvNorm(nn.Conv2d(1, 4, 3, padding: 1, bias: false), nn.BatchNorm2d(4)), nn.ReLU(),
                nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 4));
            dead = nn.Sequential(
                new ConvNorm(nn.Conv2d(1, 4, 3, padding: 1, bias: false), new ModeNorm(4, modes: 2)), nn.AdaptiveAvgPool2d(1), nn.Flatten());
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => live.call(input).add(dead.call(input).mul(0));
    }

    [Fact]
    public void WeightsNormalizerAffinesAndGatesGetTheirOwnDecay()
    {
        const double rate = 0.1, weightDecay = 0.05, normDecay = 0.2, gateDecay = 0.5;
        torch.manual_seed(1);
        using var model = new DeadBranchNet();
        // Beta and the gate bias start at 0, which no decay changes: start them elsewhere.
        foreach (var (_, parameter) in model.named_parameters().Where(p => p.name is "dead.0.norm.bias" or "dead.0.norm.gate_bias"))
            using (no_grad()) nn.init.constant_(parameter, 0.5);
        var initial = model.named_parameters().Where(p => p.name.StartsWith("dead.", StringComparison.Ordinal))
            .ToDictionary(p => p.name, p => TestData.Values(p.parameter));
        Assert.Equal(["dead.0.conv.weight", "dead.0.norm.weight", "dead.0.norm.bias", "dead.0.norm.gate_weight", "dead.0.norm.gate_bias"], initial.Keys);

        var options = new TrainingOptions
        {
            Epochs = 1, BatchSize = 8, LearningRate = rate, Momentum = 0, Schedule = LearningRateScheduleKind.Constant,
            WeightDecay = weightDecay, NormWeightDecay = normDecay, GateWeightDecay = gateDecay, CropPadding = 0, HorizontalFlip = false,
        };
        new ClassifierTrainer(options).Train(model, TrainerRuns.Train);

        var steps = TrainerRuns.StepsPerEpoch;
        var decayOf = new Dictionary<string, double>
        {
            ["dead.0.conv.weight"] = weightDecay,
            ["dead.0.norm.weight"] = normDecay, ["dead.0.norm.bias"] = normDecay,
            ["dead.0.norm.gate_weight"] = gateDecay, ["dead.0.norm.gate_bias"] = gateDecay,
        };
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, decay) in decayOf)
        {
            var factor = Math.Pow(1 - rate * decay, steps);
            Expect.Close(initial[name].Select(v => v * factor).ToArray(), TestData.Values(parameters[name]), absolute: 1e-7, relative: 1e-5,
                what: $"{name} (decay {decay}: factor {factor:F4} after {steps} steps), element");
        }
    }
}
