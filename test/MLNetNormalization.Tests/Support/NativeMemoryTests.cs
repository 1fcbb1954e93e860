using MLNetNormalization.TorchBinding.NN;
using MLNetNormalization.TorchBinding.Optim;

namespace MLNetNormalization.Tests.Binding;

/// <summary>A long training loop with one dispose scope per step keeps native memory flat.</summary>
[Collection(TestCollections.NativeMemory)]
public class NativeMemoryTests
{
    private const int WarmupSteps = 200;
    private const int TotalSteps = 2_000;
    private const long RssGrowthBound = 64L << 20;

    private static long ResidentBytes()
    {
        NativeMemory.Settle();
        return Environment.WorkingSet;
    }

    [Fact]
    public void TwoThousandTrainingStepsLeakNoTensorsAndLittleMemory()
    {
        NativeMemory.Settle();
        var baseline = Torch.LiveTensorCount;
        Torch.ManualSeed(160);
        using var generator = new Generator(161);
        var model = new Sequential(new Conv2d(1, 4, 3), new BatchNorm2d(4), new ReLU(), new Flatten(), new Linear(4 * 6 * 6, 2));
        var sgd = new SGD(model.Parameters(), 0.01, momentum: 0.9, weightDecay: 1e-4);

        long countAfterWarmup = 0, rssAfterWarmup = 0;
        for (var step = 1; step <= TotalSteps; step++)
        {
            using (var scope = Torch.NewDisposeScope())
            {
                var x = Torch.Randn([16, 1, 8, 8], generator);
                var y = Torch.RandInt(0, 2, [16], generator);
                sgd.ZeroGrad();
                var loss = Functional.CrossEntropy(model.Forward(x), y, labelSmoothing: 0.1);
                loss.Backward();
                sgd.Step();
                if (step % 500 == 0) Assert.True(double.IsFinite(loss.Item<float>()));
            }
            if (step == WarmupSteps)
            {
                countAfterWarmup = Torch.LiveTensorCount;
                rssAfterWarmup = ResidentBytes();
            }
        }

        Assert.Equal(countAfterWarmup, Torch.LiveTensorCount);
        var growth = ResidentBytes() - rssAfterWarmup;
        Assert.True(growth < RssGrowthBound, $"RSS grew by {growth >> 20} MiB between step {WarmupSteps} and step {TotalSteps}.");

        // The parameters, buffers and momentum buffers were all that remained, and disposing them frees everything.
        Assert.Equal(baseline + model.State().Count + model.Parameters().Count(), Torch.LiveTensorCount);
        sgd.Dispose();
        model.Dispose();
        Assert.Equal(baseline, Torch.LiveTensorCount);
    }
}
