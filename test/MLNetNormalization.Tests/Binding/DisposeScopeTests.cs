namespace MLNetNormalization.Tests.Binding;

/// <summary>Dispose scopes free what they own, and let chosen tensors out. Reads the process-wide live-tensor count.</summary>
[Collection(TestCollections.NativeMemory)]
public class DisposeScopeTests
{
    [Fact]
    public void AScopeFreesEveryTensorCreatedInsideIt()
    {
        NativeMemory.Settle();
        var before = Torch.LiveTensorCount;
        var created = new List<Tensor>();
        using (var scope = Torch.NewDisposeScope())
        {
            var x = Torch.Ones([3]);
            var y = x * 2.0 + 1.0;                  // an intermediate and a result
            var (variance, mean) = y.VarMean();     // two results from one native call
            created.AddRange([x, y, variance, mean]);
            Assert.Equal(before + 5, Torch.LiveTensorCount);
            Assert.Equal(5, scope.Count);
        }
        Assert.Equal(before, Torch.LiveTensorCount);
        Assert.All(created, t => Assert.True(t.IsDisposed));
    }

    [Fact]
    public void DisposingATensorEarlyTakesItOutOfItsScope()
    {
        NativeMemory.Settle();
        var before = Torch.LiveTensorCount;
        using (var scope = Torch.NewDisposeScope())
        {
            var x = Torch.Ones([3]);
            Torch.Zeros([3]);
            x.Dispose();
            Assert.Equal(1, scope.Count);
            Assert.Equal(before + 1, Torch.LiveTensorCount);
        }
        Assert.Equal(before, Torch.LiveTensorCount);
    }

    [Fact]
    public void MoveToOuterDisposeScopeHandsATensorToTheEnclosingScope()
    {
        NativeMemory.Settle();
        var before = Torch.LiveTensorCount;
        Tensor kept;
        using (var outer = Torch.NewDisposeScope())
        {
            using (var inner = Torch.NewDisposeScope())
            {
                Torch.Zeros([2]);
                kept = Torch.Full([2], 4).MoveToOuterDisposeScope();
                Assert.Equal(1, inner.Count);
                Assert.Equal(1, outer.Count);
            }
            Assert.False(kept.IsDisposed);
            Assert.Equal([4f, 4], kept.ToArray<float>());
            Assert.Equal(before + 1, Torch.LiveTensorCount);
        }
        Assert.True(kept.IsDisposed);
        Assert.Equal(before, Torch.LiveTensorCount);
    }

    [Fact]
    public void DetachFromDisposeScopeKeepsATensorAliveAfterEveryScope()
    {
        NativeMemory.Settle();
        var before = Torch.LiveTensorCount;
        Tensor kept;
        using (Torch.NewDisposeScope())
        using (Torch.NewDisposeScope())
            kept = Torch.Full([2], 5).DetachFromDisposeScope();

        Assert.Equal([5f, 5], kept.ToArray<float>());
        Assert.Equal(before + 1, Torch.LiveTensorCount);
        kept.Dispose();
        Assert.Equal(before, Torch.LiveTensorCount);
    }

    [Fact]
    public void ATensorCreatedOutsideAnyScopeIsOwnedByTheCaller()
    {
        NativeMemory.Settle();
        var before = Torch.LiveTensorCount;
        var free = Torch.Ones([1]);
        using (Torch.NewDisposeScope()) free.Add(1);
        Assert.False(free.IsDisposed);
        Assert.Equal(before + 1, Torch.LiveTensorCount);
        free.Dispose();
        Assert.Equal(before, Torch.LiveTensorCount);
    }

    [Fact]
    public void DisposingScopesOutOfOrderThrows()
    {
        var outer = Torch.NewDisposeScope();
        var inner = Torch.NewDisposeScope();
        var e = Assert.Throws<InvalidOperationException>(() => outer.Dispose());
        Assert.Contains("innermost first", e.Message);
        // Nothing was torn down: the scopes can still be closed in the right order.
        var t = Torch.Zeros([1]);
        inner.Dispose();
        Assert.True(t.IsDisposed);
        outer.Dispose();
    }

    [Fact]
    public void ScopesBelongToTheThreadThatOpenedThem()
    {
        NativeMemory.Settle();
        using var scope = Torch.NewDisposeScope();
        Tensor? fromOtherThread = null;
        var thread = new Thread(() => fromOtherThread = Torch.Ones([1]));
        thread.Start();
        thread.Join();
        Assert.Equal(0, scope.Count);
        Assert.False(fromOtherThread!.IsDisposed);
        fromOtherThread.Dispose();
    }

    [Fact]
    public void ReadingAGradientInAScopeDoesNotLeakHandles()
    {
        NativeMemory.Settle();
        var x = TestData.Float64([1, 2], 2).DetachFromDisposeScope();
        x.RequiresGrad = true;
        var before = Torch.LiveTensorCount;
        for (var i = 0; i < 10; i++)
        {
            using var scope = Torch.NewDisposeScope();
            x.Square().Sum().Backward();
            Assert.NotNull(x.Grad);
        }
        Assert.Equal(before, Torch.LiveTensorCount);
        using (var scope = Torch.NewDisposeScope())
            Expect.Close([20, 40], x.Grad!, 0);
        x.Dispose();
    }
}
