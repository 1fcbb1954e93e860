using MLNetNormalization.TorchBinding.NN;

namespace MLNetNormalization.Tests.Binding;

/// <summary>Dropout draws its mask from the global generator, hence the collection.</summary>
[Collection(TestCollections.GlobalRandom)]
public class DropoutTests
{
    [Fact]
    public void TrainingDropoutZeroesAboutPAndScalesTheSurvivors()
    {
        using var scope = Torch.NewDisposeScope();
        const double p = 0.3;
        var values = TestData.Uniform(50, 20_000, 1, 2);   // no zeros of their own
        var x = TestData.Float64(values, 200, 100);

        Torch.ManualSeed(50);
        var y = Functional.Dropout(x, p, training: true);
        var output = y.ToArray<double>();
        var zeros = 0;
        for (var i = 0; i < output.Length; i++)
        {
            if (output[i] == 0) zeros++;
            else Expect.Close(values[i] / (1 - p), output[i], 0, 1e-15);
        }
        // The standard error of the zero fraction is 0.0032.
        Assert.InRange(zeros / (double)output.Length, p - 0.015, p + 0.015);

        Torch.ManualSeed(50);
        Assert.True(y.Equal(Functional.Dropout(x, p, training: true)));
    }

    [Fact]
    public void DropoutOfZeroKeepsAndDropoutOfOneDropsEverything()
    {
        using var scope = Torch.NewDisposeScope();
        Torch.ManualSeed(51);
        var x = TestData.Float64(TestData.Uniform(51, 100, 1, 2), 100);
        Assert.True(x.Equal(Functional.Dropout(x, 0, training: true)));
        Assert.All(Functional.Dropout(x, 1, training: true).ToArray<double>(), v => Assert.Equal(0, v));
    }

    [Fact]
    public void TheDropoutModuleFollowsTrainAndEval()
    {
        using var scope = Torch.NewDisposeScope();
        Torch.ManualSeed(52);
        var x = Torch.Ones([1000]);
        var dropout = new Dropout(0.5);
        Assert.True(dropout.IsTraining);
        var trained = dropout.Forward(x).ToArray<float>();
        Assert.Contains(0f, trained);
        Assert.Contains(2f, trained);
        Assert.All(trained, v => Assert.True(v is 0f or 2f));
        dropout.Eval();
        Assert.True(x.Equal(dropout.Forward(x)));
    }
}
