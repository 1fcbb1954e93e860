namespace MLNetNormalization.Tests.Binding;

public class SmokeTests
{
    [Fact]
    public void AddsBroadcasting()
    {
        using var scope = Torch.NewDisposeScope();
        var a = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        var b = Tensor.FromArray(new float[] { 10, 20, 30 }, 3);
        Assert.Equal(new float[] { 11, 22, 33, 14, 25, 36 }, (a + b).ToArray<float>());
    }

    [Fact]
    public void BadShapeThrowsLibtorchMessage()
    {
        using var scope = Torch.NewDisposeScope();
        var a = Torch.Zeros([2, 3]);
        var b = Torch.Zeros([4, 5]);
        var e = Assert.Throws<TorchException>(() => { a.MatMul(b); });
        Assert.Contains("cannot be multiplied", e.Message);
    }
}
