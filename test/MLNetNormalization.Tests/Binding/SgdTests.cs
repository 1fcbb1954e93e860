using MLNetNormalization.TorchBinding.Optim;

namespace MLNetNormalization.Tests.Binding;

/// <summary>SGD steps against hand-computed updates: d = g + wd·p; buf = d, then m·buf + (1 - dampening)·d; p -= lr·(nesterov ? d + m·buf : buf).</summary>
public class SgdTests
{
    private static Tensor Parameter(params double[] values)
    {
        var parameter = TestData.Float64(values, values.Length);
        parameter.RequiresGrad = true;
        return parameter;
    }

    /// <summary>Makes the parameter's gradient exactly <paramref name="gradient"/> (its gradient must be cleared).</summary>
    private static void SetGradient(Tensor parameter, params double[] gradient) =>
        (parameter * TestData.Float64(gradient, gradient.Length)).Sum().Backward();

    [Fact]
    public void APlainStepSubtractsTheScaledGradient()
    {
        using var scope = Torch.NewDisposeScope();
        var p = Parameter(1, -2);
        using var sgd = new SGD([p], learningRate: 0.1);
        SetGradient(p, 0.5, 1);
        sgd.Step();
        Expect.Close([0.95, -2.1], p, 1e-15);
        Assert.True(p.IsLeaf);
        Assert.True(p.RequiresGrad);
        Assert.Null(sgd.MomentumBuffer(0, 0));
    }

    [Fact]
    public void WeightDecayAddsTheScaledParameterToTheGradient()
    {
        using var scope = Torch.NewDisposeScope();
        var p = Parameter(1, -2);
        using var sgd = new SGD([p], learningRate: 0.1, weightDecay: 0.1);
        SetGradient(p, 0.5, 1);
        sgd.Step();
        // d = (0.5 + 0.1, 1 - 0.2)
        Expect.Close([1 - 0.06, -2 - 0.08], p, 1e-15);
    }

    [Fact]
    public void MomentumWithDampeningOverTwoSteps()
    {
        using var scope = Torch.NewDisposeScope();
        var p = Parameter(1, -2);
        using var sgd = new SGD([p], learningRate: 0.1, momentum: 0.9, dampening: 0.3);

        SetGradient(p, 0.5, 1);
        sgd.Step();
        // First step: buf = g, undamped.
        Expect.Close([0.5, 1], sgd.MomentumBuffer(0, 0)!, 0);
        Expect.Close([0.95, -2.1], p, 1e-15);

        sgd.ZeroGrad();
        SetGradient(p, -1, 2);
        sgd.Step();
        // buf = 0.9·(0.5, 1) + 0.7·(-1, 2) = (-0.25, 2.3)
        Expect.Close([-0.25, 2.3], sgd.MomentumBuffer(0, 0)!, 1e-15);
        Expect.Close([0.975, -2.33], p, 1e-15);
    }

    [Fact]
    public void NesterovMomentumOverTwoSteps()
    {
        using var scope = Torch.NewDisposeScope();
        var p = Parameter(1, -2);
        using var sgd = new SGD([p], learningRate: 0.1, momentum: 0.5, nesterov: true);

        SetGradient(p, 0.5, 1);
        sgd.Step();
        // buf = (0.5, 1); d = g + 0.5·buf = (0.75, 1.5)
        Expect.Close([0.925, -2.15], p, 1e-15);

        sgd.ZeroGrad();
        SetGradient(p, -1, 2);
        sgd.Step();
        // buf = 0.5·(0.5, 1) + (-1, 2) = (-0.75, 2.5); d = (-1.375, 3.25)
        Expect.Close([1.0625, -2.475], p, 1e-15);
    }

    [Theory]
    [InlineData(0.9, 0.1, 0.01, false)]
    [InlineData(0.8, 0.0, 0.05, true)]
    public void FiveStepsMatchAFloat64Reference(double momentum, double dampening, double weightDecay, bool nesterov)
    {
        using var scope = Torch.NewDisposeScope();
        const double lr = 0.05;
        var expected = TestData.Uniform(120, 4);
        var p = Parameter(expected);
        using var sgd = new SGD([p], lr, momentum, dampening, weightDecay, nesterov);
        double[]? buffer = null;
        for (var step = 0; step < 5; step++)
        {
            var gradient = TestData.Uniform(121 + step, 4);
            sgd.ZeroGrad();
            SetGradient(p, gradient);
            sgd.Step();

            var d = gradient.Select((g, i) => g + weightDecay * expected[i]).ToArray();
            buffer = buffer is null ? d : buffer.Select((b, i) => momentum * b + (1 - dampening) * d[i]).ToArray();
            var direction = nesterov ? d.Select((v, i) => v + momentum * buffer[i]).ToArray() : buffer;
            expected = expected.Select((v, i) => v - lr * direction[i]).ToArray();
        }
        Expect.Close(expected, p, 1e-14);
        Expect.Close(buffer!, sgd.MomentumBuffer(0, 0)!, 1e-14);
    }

    [Fact]
    public void ParameterGroupsUseTheirOwnRateAndWeightDecay()
    {
        using var scope = Torch.NewDisposeScope();
        var a = Parameter(1, 2);
        var b = Parameter(3);
        using var sgd = new SGD([new ParameterGroup([a], 0.1), new ParameterGroup([b], 0.01, weightDecay: 0.5)]);
        SetGradient(a, 1, 1);
        SetGradient(b, 2);
        sgd.Step();
        Expect.Close([0.9, 1.9], a, 1e-15);
        Expect.Close([3 - 0.01 * (2 + 0.5 * 3)], b, 1e-15);
        Assert.Equal(2, sgd.Groups.Count);
    }

    [Fact]
    public void ParametersWithoutAGradientAreSkipped()
    {
        using var scope = Torch.NewDisposeScope();
        var trained = Parameter(1, 2);
        var untouched = Parameter(5, 6);
        using var sgd = new SGD([trained, untouched], learningRate: 0.5, momentum: 0.9, weightDecay: 0.1);
        SetGradient(trained, 1, 1);
        sgd.Step();
        Expect.Close([5, 6], untouched, 0);
        Assert.Null(sgd.MomentumBuffer(0, 1));
        Expect.Close([1 - 0.5 * 1.1, 2 - 0.5 * 1.2], trained, 1e-15);
    }

    [Fact]
    public void ZeroGradClearsEveryGradient()
    {
        using var scope = Torch.NewDisposeScope();
        var a = Parameter(1, 2);
        var b = Parameter(3);
        using var sgd = new SGD([new ParameterGroup([a], 0.1), new ParameterGroup([b], 0.2)]);
        SetGradient(a, 1, 1);
        SetGradient(b, 2);
        Assert.NotNull(a.Grad);
        Assert.NotNull(b.Grad);
        sgd.ZeroGrad();
        Assert.Null(a.Grad);
        Assert.Null(b.Grad);
        // The next backward starts from nothing rather than accumulating.
        SetGradient(a, 4, 5);
        Expect.Close([4, 5], a.Grad!, 0);
    }

    [Fact]
    public void MomentumBuffersAreCopiedOutAndIn()
    {
        using var scope = Torch.NewDisposeScope();
        var p = Parameter(1, -2);
        using var sgd = new SGD([p], learningRate: 0.1, momentum: 0.9);
        Assert.Null(sgd.MomentumBuffer(0, 0));
        SetGradient(p, 0.5, 1);
        sgd.Step();

        var copy = sgd.MomentumBuffer(0, 0)!;
        Expect.Close([0.5, 1], copy, 0);
        copy.Fill(100);
        Expect.Close([0.5, 1], sgd.MomentumBuffer(0, 0)!, 0);

        var restored = TestData.Float64([10, 20], 2);
        sgd.SetMomentumBuffer(0, 0, restored);
        restored.Fill(-1);
        Expect.Close([10, 20], sgd.MomentumBuffer(0, 0)!, 0);

        // The next step continues from the restored buffer: buf = 0.9·(10, 20) + (0.5, 1) = (9.5, 19).
        var before = TestData.Values(p);
        sgd.Step();
        Expect.Close([before[0] - 0.95, before[1] - 1.9], p, 1e-14);

        var e = Assert.Throws<ArgumentException>(() => sgd.SetMomentumBuffer(0, 0, Torch.Zeros([3], ScalarType.Float64)));
        Assert.Contains("shape [2]", e.Message);
    }

    [Fact]
    public void InvalidHyperParametersAreRejectedByName()
    {
        using var scope = Torch.NewDisposeScope();
        var p = Parameter(1);
        var q = Parameter(2);
        Assert.Equal("learningRate", Assert.Throws<ArgumentOutOfRangeException>(() => new SGD([p], -0.1)).ParamName);
        Assert.Equal("momentum", Assert.Throws<ArgumentOutOfRangeException>(() => new SGD([p], 0.1, momentum: -0.5)).ParamName);
        Assert.Equal("weightDecay", Assert.Throws<ArgumentOutOfRangeException>(() => new SGD([p], 0.1, weightDecay: -1)).ParamName);

        var nesterov = Assert.Throws<ArgumentException>(() => new SGD([p], 0.1, nesterov: true));
        Assert.Equal("nesterov", nesterov.ParamName);
        Assert.Contains("momentum > 0", nesterov.Message);
        Assert.Throws<ArgumentException>(() => new SGD([p], 0.1, momentum: 0.9, dampening: 0.1, nesterov: true));

        var twice = Assert.Throws<ArgumentException>(() => new SGD([new ParameterGroup([p, q], 0.1), new ParameterGroup([q], 0.2)]));
        Assert.Contains("more than one group", twice.Message);
        Assert.Throws<ArgumentException>(() => new SGD([p, p], 0.1));
        Assert.Contains("at least one", Assert.Throws<ArgumentException>(() => new SGD(Array.Empty<ParameterGroup>())).Message);
    }
}
