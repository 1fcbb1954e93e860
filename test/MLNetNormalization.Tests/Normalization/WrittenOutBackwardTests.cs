using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Support;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>
/// The layers whose statistics algebra has its backward written out against the autograd formulation, the reference: in
/// float64, on inputs with an offset of 1e4 and a spread of 1, the outputs and the gradients of the input, gamma and beta
/// agree within 1e-10 (relative, for values above 1), as do those of the mixing weights and gates, in training (the running statistics bit for bit) and at inference with every alpha path, with
/// ghost and batch-group remainders. (The float64 finite-difference checks of NormalizationGradientTests run the written-out
/// path too, as it is the default.)
/// </summary>
public class WrittenOutBackwardTests
{
    public static TheoryData<string, int> TrainingCases => new()
    {
        { "gn:g=2", 4 }, { "ln", 4 }, { "in", 4 }, { "en:g=2", 4 }, { "en:g=1", 3 }, { "bgn:g=2,b=2", 4 }, { "bgn:g=2,b=3", 7 }, { "bgn:g=4,b=3", 8 },
        { "hn:g=1", 4 }, { "hn:mean=gn2,std=en2", 4 }, { "hn:mean=in,std=ln", 3 }, { "hn:mean=en2,std=in", 5 }, { "hn:mean=ln,std=bn", 4 },
        { "sn", 4 }, { "sn", 2 }, { "mn:k=1", 4 }, { "mn:k=2", 4 }, { "mn:k=3", 5 }, { "mn:k=4", 6 },
        { "mgn:k=1", 3 }, { "mgn:k=2", 4 }, { "mgn:k=3", 4 }, { "mgn:k=2,weighted=true", 4 },
    };

    public static TheoryData<string, double> InferenceCases()
    {
        var data = new TheoryData<string, double>();
        foreach (var name in new[] { "bn", "ghost:b=3", "bgn:g=2,b=3", "en:g=2", "gn:g=2", "ln", "in", "hn:g=1", "hn:mean=gn2,std=en2", "hn:mean=in,std=bn", "hn:mean=bn,std=ln", "sn", "mn:k=1", "mn:k=2", "mn:k=4", "mgn:k=1", "mgn:k=2", "mgn:k=3,weighted=true" })
            foreach (var alpha in new[] { 0, 0.3, 1 })
                data.Add(name, alpha);
        return data;
    }

    [Theory]
    [MemberData(nameof(TrainingCases))]
    public void TrainingAgreesWithTheAutogradReference(string normalizer, int batch) => AssertAgree(normalizer, batch, training: true, alpha: null, 1e4);

    [Theory]
    [MemberData(nameof(InferenceCases))]
    public void InferenceAgreesWithTheAutogradReference(string normalizer, double alpha) => AssertAgree(normalizer, 3, training: false, alpha, 1e4);

    /// <summary>
    /// MGN's gate_scale gradient is Σ g·m over the cells: at an offset of 1e4 both formulations lose four digits of it (the
    /// rounding of g times m), so the cases above hold it to 1e-10 relative to the offset; near zero, to 1e-10 itself.
    /// </summary>
    [Theory]
    [InlineData("mgn:k=2", true, 1.0)]
    [InlineData("mgn:k=3,weighted=true", true, 1.0)]
    [InlineData("mgn:k=2", false, 0.3)]
    [InlineData("mgn:k=2", false, 1.0)]
    public void ModeGroupNormGatesAgreeNearZero(string normalizer, bool training, double alpha) =>
        AssertAgree(normalizer, 4, training, training ? null : alpha, offset: 0.5);

    private static void AssertAgree(string normalizer, int batch, bool training, double? alpha, double offset)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(2501);
        const long channels = 8;
        using var written = WithRandomAffine(InFloat64(NormalizerFactory.Create(normalizer)(channels)), generator);
        // Enough steps for the running statistics, which start at mean 0 and variance 1, to settle near the data's.
        TrainSteps(written, generator, [6, channels, 3, 3], steps: 100, scale: 1, offset: offset);
        using var reference = InFloat64(NormalizerFactory.Create(normalizer)(channels));
        reference.load_state_dict(written.state_dict());
        reference.AutogradBackward = true;
        foreach (var layer in new[] { written, reference })
        {
            layer.train(training);
            if (alpha is { } a) layer.Alpha = a;
        }
        var input = RandomInput(generator, [batch, channels, 3, 3], scale: 1, offset: offset);
        var weights = randn([batch, channels, 3, 3], ScalarType.Float64, generator: generator);

        var (x, xReference) = (Leaf(input), Leaf(input));
        var y = written.call(x);
        var yReference = reference.call(xReference);
        (y * weights).sum().backward();
        (yReference * weights).sum().backward();

        // 1e-10, relative to values above 1.
        AssertClose(yReference, y, 1e-10, 1e-10);
        AssertClose(xReference.grad!, x.grad!, 1e-10, 1e-10);
        // gamma, beta, and the gates' or mixing weights' parameters where the layer has them.
        foreach (var ((name, expected), (_, actual)) in reference.named_parameters().Zip(written.named_parameters()))
        {
            Assert.True(expected.grad is not null && actual.grad is not null, $"{normalizer}: no gradient of {name}");
            var relative = name == "gate_scale" ? 1e-10 * Math.Max(1, offset) : 1e-10;
            Expect.Close(TestData.Values(expected.grad), TestData.Values(actual.grad), 1e-10, relative, $"{name}.grad element");
        }
        foreach (var ((name, expected), (_, actual)) in reference.named_buffers().Zip(written.named_buffers()))
        {
            Assert.True(TestData.RawBytes(expected).SequenceEqual(TestData.RawBytes(actual)), $"{normalizer}: buffer {name} differs");
        }
    }
}
