using MLNetNormalization.Normalization;
using MLNetNormalization.TorchBinding.NN;

namespace MLNetNormalization.Tests.Normalization;

public class BatchNormSanityTests
{
    [Fact]
    public void TrainingMatchesLibtorchBatchNormForwardAndBackward()
    {
        using var scope = Torch.NewDisposeScope();
        using var generator = new Generator(3);
        var input = Torch.Randn([6, 4, 5, 5], generator).Mul(3).Add(2);
        var x1 = input.Clone(); x1.RequiresGrad = true;
        var x2 = input.Clone(); x2.RequiresGrad = true;
        using var layer = new BatchNorm(4);
        var rm = Torch.Zeros([4]); var rv = Torch.Ones([4]);
        var y1 = layer.Forward(x1);
        var y2 = Functional.BatchNorm(x2, rm, rv, Torch.Ones([4]), Torch.Zeros([4]), training: true);
        Assert.True(y1.AllClose(y2, 1e-5, 1e-5));
        var weights = Torch.Randn([6, 4, 5, 5], generator);
        y1.Mul(weights).Sum().Backward();
        y2.Mul(weights).Sum().Backward();
        Assert.True(x1.Grad!.AllClose(x2.Grad!, 1e-4, 1e-5));
        Assert.True(layer.Running.Mean.AllClose(rm, 1e-6, 1e-6));
        Assert.True(layer.Running.Var.AllClose(rv, 1e-6, 1e-6));
    }
}
