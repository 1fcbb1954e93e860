namespace MLNetNormalization.Tests.Binding;

/// <summary>Leaf flags, backward, gradient values and accumulation, grad mode, detaching.</summary>
public class AutogradTests
{
    [Fact]
    public void RequiresGradMarksLeavesAndPropagatesToResults()
    {
        using var scope = Torch.NewDisposeScope();
        var x = TestData.Float64([1, 2], 2);
        Assert.False(x.RequiresGrad);
        Assert.True(x.IsLeaf);
        x.RequiresGrad = true;
        Assert.True(x.RequiresGrad);

        var y = x * 2.0;
        Assert.True(y.RequiresGrad);
        Assert.False(y.IsLeaf);
        var constant = TestData.Float64([3, 4], 2) * 2.0;
        Assert.False(constant.RequiresGrad);
        Assert.True(constant.IsLeaf);
    }

    [Fact]
    public void GradIsNullBeforeAnyBackward()
    {
        using var scope = Torch.NewDisposeScope();
        var x = TestData.Float64([1, 2], 2);
        x.RequiresGrad = true;
        Assert.Null(x.Grad);
    }

    [Fact]
    public void TheGradientOfASumOfSquaresIsTwiceTheInput()
    {
        using var scope = Torch.NewDisposeScope();
        var x = TestData.Float64([1, -2, 3.5], 3);
        x.RequiresGrad = true;
        x.Square().Sum().Backward();
        Expect.Close([2, -4, 7], x.Grad!, 0, 0, [3]);
    }

    [Fact]
    public void GradientsOfSimpleExpressionsMatchTheirDerivatives()
    {
        using var scope = Torch.NewDisposeScope();
        double[] xs = [0.5, -1, 2], ys = [3, 0.25, -4];
        var x = TestData.Float64(xs, 3);
        var y = TestData.Float64(ys, 3);
        x.RequiresGrad = true;
        y.RequiresGrad = true;

        // f = Σ x·y + mean(exp(x)) + Σ y³
        ((x * y).Sum() + x.Exp().Mean() + y.Pow(3).Sum()).Backward();
        Expect.Close(xs.Select((v, i) => ys[i] + Math.Exp(v) / 3).ToArray(), x.Grad!, 1e-15, 1e-15);
        Expect.Close(ys.Select((v, i) => xs[i] + 3 * v * v).ToArray(), y.Grad!, 1e-15, 1e-15);
    }

    [Fact]
    public void BackwardOfANonScalarTakesTheOutputGradient()
    {
        using var scope = Torch.NewDisposeScope();
        var x = TestData.Float64([1, 2, 3], 3);
        x.RequiresGrad = true;
        (x * x * 3.0).Backward(TestData.Float64([1, 0.5, -2], 3));
        Expect.Close([6, 6, -36], x.Grad!, 0);   // 6x · g
    }

    [Fact]
    public void GradientsAccumulateAcrossBackwardCalls()
    {
        using var scope = Torch.NewDisposeScope();
        var x = TestData.Float64([1, -2], 2);
        x.RequiresGrad = true;
        x.Square().Sum().Backward();
        (x * 5.0).Sum().Backward();
        Expect.Close([2 + 5, -4 + 5], x.Grad!, 0);
    }

    [Fact]
    public void RetainGraphAllowsASecondBackwardThroughTheSameGraph()
    {
        using var scope = Torch.NewDisposeScope();
        var x = TestData.Float64([1, 2], 2);
        x.RequiresGrad = true;
        var loss = x.Exp().Sum();
        loss.Backward(retainGraph: true);
        loss.Backward();
        Expect.Close([2 * Math.E, 2 * Math.Exp(2)], x.Grad!, 1e-15, 1e-15);
        // The graph is gone now.
        var e = Assert.Throws<TorchException>(() => loss.Backward());
        Assert.Contains("second time", e.Message);
    }

    [Fact]
    public void NoGradStopsRecordingAndRestoresTheModeOnDispose()
    {
        using var scope = Torch.NewDisposeScope();
        var x = TestData.Float64([1, 2], 2);
        x.RequiresGrad = true;
        Assert.True(Torch.IsGradEnabled);
        using (Torch.NoGrad())
        {
            Assert.False(Torch.IsGradEnabled);
            Assert.False((x * 2.0).RequiresGrad);
            using (Torch.EnableGrad())
            {
                Assert.True(Torch.IsGradEnabled);
                Assert.True((x * 2.0).RequiresGrad);
            }
            Assert.False(Torch.IsGradEnabled);
            using (Torch.NoGrad()) Assert.False(Torch.IsGradEnabled);
            Assert.False(Torch.IsGradEnabled);
        }
        Assert.True(Torch.IsGradEnabled);
        Assert.True((x * 2.0).RequiresGrad);
    }

    [Fact]
    public void GradModeIsPerThread()
    {
        using var scope = Torch.NewDisposeScope();
        using var noGrad = Torch.NoGrad();
        var enabledElsewhere = false;
        var thread = new Thread(() => enabledElsewhere = Torch.IsGradEnabled);
        thread.Start();
        thread.Join();
        Assert.True(enabledElsewhere);
        Assert.False(Torch.IsGradEnabled);
    }

    [Fact]
    public void DetachCutsTheGraphButSharesStorage()
    {
        using var scope = Torch.NewDisposeScope();
        var x = TestData.Float64([1, -2, 3], 3);
        x.RequiresGrad = true;
        var y = x * 2.0;
        var detached = y.Detach();
        Assert.False(detached.RequiresGrad);
        Assert.True(detached.IsLeaf);
        Expect.Close([2, -4, 6], detached, 0);

        // Only the first factor carries a gradient: d/dx Σ x·stop(x) = x.
        (x * x.Detach()).Sum().Backward();
        Expect.Close([1, -2, 3], x.Grad!, 0);

        // Same storage: a change through the detached tensor shows in the original.
        detached.Fill(0);
        Expect.Close([0, 0, 0], y, 0);
    }
}
