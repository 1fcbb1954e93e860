using MLNetNormalization.TorchBinding.NN;

namespace MLNetNormalization.Tests.Binding;

/// <summary>Autograd gradients of the network operations against float64 central differences.</summary>
public class GradientCheckTests
{
    private static Tensor Input(int seed, long[] shape, double low = -1, double high = 1) =>
        TestData.Float64(TestData.Uniform(seed, (int)shape.Aggregate(1L, (a, b) => a * b), low, high), shape);

    private static void Check(Func<Tensor[], Tensor> function, params Tensor[] inputs) =>
        GradientChecker.AssertGradientsMatch(function, inputs);

    [Fact]
    public void Conv2dWithStridePaddingDilationAndGroups()
    {
        using var scope = Torch.NewDisposeScope();
        Check(t => GradientChecker.WeightedSum(Functional.Conv2d(t[0], t[1], t[2], (2, 1), (1, 2), (1, 2), groups: 2)),
              Input(80, [2, 4, 5, 6]), Input(81, [4, 2, 3, 2]), Input(82, [4]));
    }

    [Fact]
    public void Linear()
    {
        using var scope = Torch.NewDisposeScope();
        Check(t => GradientChecker.WeightedSum(Functional.Linear(t[0], t[1], t[2])),
              Input(83, [3, 4]), Input(84, [2, 4]), Input(85, [2]));
    }

    [Fact]
    public void BatchNormInTraining()
    {
        using var scope = Torch.NewDisposeScope();
        Check(t => GradientChecker.WeightedSum(Functional.BatchNorm(t[0], null, null, t[1], t[2], training: true)),
              Input(86, [4, 3, 2, 2], -2, 3), Input(87, [3], 0.5, 2), Input(88, [3]));
    }

    [Fact]
    public void BatchNormInTrainingWithRunningStatistics()
    {
        using var scope = Torch.NewDisposeScope();
        // The running statistics are updated on every evaluation, but the output must not depend on them.
        var runningMean = Torch.Zeros([3], ScalarType.Float64);
        var runningVar = Torch.Ones([3], ScalarType.Float64);
        Check(t => GradientChecker.WeightedSum(Functional.BatchNorm(t[0], runningMean, runningVar, t[1], t[2], training: true)),
              Input(89, [3, 3, 2, 1], -2, 3), Input(90, [3], 0.5, 2), Input(91, [3]));
    }

    [Fact]
    public void GroupNorm()
    {
        using var scope = Torch.NewDisposeScope();
        Check(t => GradientChecker.WeightedSum(Functional.GroupNorm(t[0], 2, t[1], t[2])),
              Input(92, [2, 4, 2, 3], -2, 3), Input(93, [4], 0.5, 2), Input(94, [4]));
    }

    [Fact]
    public void InstanceNorm()
    {
        using var scope = Torch.NewDisposeScope();
        Check(t => GradientChecker.WeightedSum(Functional.InstanceNorm(t[0], weight: t[1], bias: t[2])),
              Input(95, [2, 3, 2, 2], -2, 3), Input(96, [3], 0.5, 2), Input(97, [3]));
    }

    [Fact]
    public void LayerNorm()
    {
        using var scope = Torch.NewDisposeScope();
        Check(t => GradientChecker.WeightedSum(Functional.LayerNorm(t[0], [3, 4], t[1], t[2])),
              Input(98, [2, 3, 4], -2, 3), Input(99, [3, 4], 0.5, 2), Input(100, [3, 4]));
    }

    [Fact]
    public void CrossEntropyWithLabelSmoothing()
    {
        using var scope = Torch.NewDisposeScope();
        var targets = TestData.Int64([2, 0, 4, 1], 4);
        Check(t => Functional.CrossEntropy(t[0], targets, labelSmoothing: 0.15), Input(101, [4, 5], -3, 3));
        var classWeights = Input(103, [5], 0.5, 2);   // a constant: libtorch does not differentiate class weights
        Check(t => Functional.CrossEntropy(t[0], targets, classWeights, Reduction.Sum, labelSmoothing: 0.15), Input(102, [4, 5], -3, 3));
    }

    [Fact]
    public void LogSoftmaxAndSoftmax()
    {
        using var scope = Torch.NewDisposeScope();
        Check(t => GradientChecker.WeightedSum(Functional.LogSoftmax(t[0], 1)), Input(104, [3, 5], -3, 3));
        Check(t => GradientChecker.WeightedSum(Functional.Softmax(t[0], 0)), Input(105, [3, 5], -3, 3));
    }

    [Fact]
    public void MaxPool2dWithOverlappingPaddedWindows()
    {
        using var scope = Torch.NewDisposeScope();
        // Continuous random values: no two within 2h of each other, so the maximum is unique under the perturbation.
        Check(t => GradientChecker.WeightedSum(Functional.MaxPool2d(t[0], (3, 3), (2, 2), (1, 1))), Input(106, [1, 2, 5, 5]));
    }

    [Fact]
    public void AvgPool2dWithAndWithoutPaddingInTheDivisor()
    {
        using var scope = Torch.NewDisposeScope();
        Check(t => GradientChecker.WeightedSum(Functional.AvgPool2d(t[0], (3, 2), (2, 1), (1, 1))), Input(107, [1, 2, 5, 4]));
        Check(t => GradientChecker.WeightedSum(Functional.AvgPool2d(t[0], (3, 3), (2, 2), (1, 1), countIncludePad: false)), Input(108, [1, 2, 5, 5]));
    }

    [Fact]
    public void AdaptiveAvgPool2d()
    {
        using var scope = Torch.NewDisposeScope();
        Check(t => GradientChecker.WeightedSum(Functional.AdaptiveAvgPool2d(t[0], (2, 3))), Input(109, [2, 2, 5, 7]));
    }

    [Fact]
    public void ComposedElementwiseReductionAndShapeOps()
    {
        using var scope = Torch.NewDisposeScope();
        var index = TestData.Int64([2, 0], 2);
        // Clamp sees values inside (-0.5, 0.5) and outside [-0.5, 0.5], none within 1e-3 of a bound.
        var b = TestData.Float64([0.3, -0.7, 0.1, 0.9, -0.2, 0.45], 2, 3);
        Check(t =>
        {
            var a = t[0];
            var x = t[1];
            var roots = a.Sqrt() + (x.Square() + 1.0).Rsqrt();
            var logs = (x * 0.5).Exp() + (a + 1.0).Log() + a.Pow(1.5) + a.Pow(x);
            var clamped = x.Clamp(-0.5, 0.5) * a;
            var joined = Torch.Cat([roots, logs, clamped], 1);                   // (2, 9)
            var moved = joined.Reshape(2, 3, 3).Permute(2, 0, 1);                // (3, 2, 3)
            var picked = Functional.Pad(moved.IndexSelect(0, index), [1, 1], 0.7);  // (2, 2, 5)
            var (variance, mean) = picked.VarMean([2], correction: 1);
            return variance.Sum() + mean.Square().Mean() + GradientChecker.WeightedSum(picked);
        }, Input(110, [2, 3], 0.2, 2), b);
    }

    [Fact]
    public void TheCheckerRejectsAWrongGradient()
    {
        using var scope = Torch.NewDisposeScope();
        // Autograd sees Σ x·stop(x) with gradient x; the function's true gradient is 2x.
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => Check(t => (t[0] * t[0].Detach()).Sum(), Input(111, [5], 0.5, 1)));
        // A gradient that is zero everywhere proves nothing, and is refused.
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => Check(t => t[0].Sum() * 0.0, Input(112, [5])));
    }
}
