using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>In eval, the output for one example does not depend on the other examples of the batch (every layer with running statistics).</summary>
public class EvalIndependenceTests
{
    public static TheoryData<string, double?> Cases()
    {
        var data = new TheoryData<string, double?>();
        foreach (var name in LayerCatalog.Names)
        {
            data.Add(name, null);   // the layer's default alpha
            data.Add(name, 0.5);
        }
        data.Add("gn", 0);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EvalOutputOfAnExampleIgnoresTheRestOfTheBatch(string name, double? alpha)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(111);
        using var layer = WithRandomAffine(LayerCatalog.Build(name), generator);
        TrainSteps(layer, generator, [6, 4, 3, 3]);
        layer.eval();
        if (alpha is { } value) layer.Alpha = value;

        var batch = RandomInput(generator, [5, 4, 3, 3], scale: 2, offset: 1, type: ScalarType.Float32);
        var companions = RandomInput(generator, [2, 4, 3, 3], scale: 7, offset: -4, type: ScalarType.Float32);
        var batchOutput = layer.forward(batch);
        for (var i = 0; i < 5; i++)
        {
            var example = batch.narrow(0, i, 1);
            AssertClose(batchOutput.narrow(0, i, 1), layer.forward(example), 1e-6, 1e-6);
            var withOthers = layer.forward(cat([companions, example], 0));
            AssertClose(batchOutput.narrow(0, i, 1), withOthers.narrow(0, 2, 1), 1e-6, 1e-6);
        }
    }
}
