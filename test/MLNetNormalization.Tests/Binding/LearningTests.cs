using MLNetNormalization.TorchBinding.NN;
using MLNetNormalization.TorchBinding.Optim;

namespace MLNetNormalization.Tests.Binding;

/// <summary>End to end: a tiny conv net learns a separable synthetic task. Initialises from the global generator, hence the collection.</summary>
[Collection(TestCollections.GlobalRandom)]
public class LearningTests
{
    private const int Size = 8;

    /// <summary>
    /// 1x8x8 images holding a bright bar, vertical (class 0) or horizontal (class 1), at a random position
    /// and of random length, on Gaussian noise.
    /// </summary>
    private static (Tensor Images, Tensor Labels) Bars(int count, Generator generator)
    {
        var labels = Torch.RandInt(0, 2, [count], generator).ToArray<long>();
        var lines = Torch.RandInt(0, Size, [count], generator).ToArray<long>();
        var starts = Torch.RandInt(0, 3, [count], generator).ToArray<long>();
        var lengths = Torch.RandInt(4, 6, [count], generator).ToArray<long>();
        var pixels = Torch.Randn([count, 1, Size, Size], generator).Mul(0.3).ToArray<float>();
        for (var n = 0; n < count; n++)
            for (var k = starts[n]; k < starts[n] + lengths[n]; k++)
            {
                var (row, column) = labels[n] == 0 ? (k, lines[n]) : (lines[n], k);
                pixels[n * Size * Size + row * Size + column] += 1;
            }
        return (Tensor.FromArray(pixels, count, 1, Size, Size), Tensor.FromArray(labels));
    }

    private static double Accuracy(Module model, Tensor images, Tensor labels)
    {
        using var scope = Torch.NewDisposeScope();
        using var noGrad = Torch.NoGrad();
        var predictions = model.Forward(images).ArgMax(1);
        return predictions.Eq(labels).To(ScalarType.Float64).Mean().Item<double>();
    }

    [Fact]
    public void ATinyConvNetLearnsToTellVerticalFromHorizontalBars()
    {
        using var scope = Torch.NewDisposeScope();
        Torch.ManualSeed(170);
        using var data = new Generator(171);
        var (trainImages, trainLabels) = Bars(512, data);
        var (testImages, testLabels) = Bars(256, data);

        using var model = new Sequential(new Conv2d(1, 8, 3), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(8 * 3 * 3, 2));
        using var sgd = new SGD(model.Parameters(), 0.05, momentum: 0.9);
        model.Eval();
        var before = Accuracy(model, testImages, testLabels);
        model.Train();

        for (var step = 0; step < 300; step++)
        {
            using var stepScope = Torch.NewDisposeScope();
            var batch = Torch.RandInt(0, 512, [32], data);
            sgd.ZeroGrad();
            Functional.CrossEntropy(model.Forward(trainImages.IndexSelect(0, batch)), trainLabels.IndexSelect(0, batch)).Backward();
            sgd.Step();
        }

        model.Eval();
        var after = Accuracy(model, testImages, testLabels);
        Assert.InRange(before, 0.0, 0.8);   // the task is not solved by the initial weights
        Assert.True(after > 0.95, $"held-out accuracy {after:P1} after training (was {before:P1})");
    }
}
