using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Support;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>
/// The layers whose statistics algebra has its backward written out against the autograd formulation, the reference: in
/// float64, on inputs with an offset of 1e4 and a spread of 1, the outputs and the gradients of the input, gamma and beta
/// agree within 1e-10 (relative, for values above 1), in training (the running statistics bit for bit) and at inference with every alpha path, with
/// ghost and batch-group remainders. (The float64 finite-difference checks of NormalizationGradientTests run the written-out
/// path too, as it is the default.)
/// </summary>
public class WrittenOutBackwardTests
{
    public static TheoryData<string, int> TrainingCases => new()
    {
        { "gn:g=2", 4 }, { "ln", 4 }, { "in", 4 }, { "en:g=2", 4 }, { "en:g=1", 3 }, { "bgn:g=2,b=2", 4 }, { "bgn:g=2,b=3", 7 }, { "bgn:g=4,b=3", 8 },
        { "hn:g=1", 4 }, { "hn:mean=gn2,std=en2", 4 }, { "hn:mean=in,std=ln", 3 }, { "hn:mean=en2,std=in", 5 }, { "hn:mean=ln,std=bn", 4 },
    };

    public static TheoryData<string, double> InferenceCases()
    {
        var data = new TheoryData<string, double>();
        foreach (var name in new[] { "bn", "ghost:b=3", "bgn:g=2,b=3", "en:g=2", "gn:g=2", "ln", "in", "hn:g=1", "hn:mean=gn2,std=en2", "hn:mean=in,std=bn", "hn:mean=bn,std=ln" })
            foreach (var alpha in new[] { 0, 0.3, 1 })
                data.Add(name, alpha);
        return data;
    }

    [Theory]
    [MemberData(nameof(TrainingCases))]
    public void TrainingAgreesWithTheAutogradReference(string normalizer, int batch) => AssertAgree(normalizer, batch, training: true, alpha: null);

    [Theory]
    [MemberData(nameof(InferenceCases))]
    public void InferenceAgreesWithTheAutogradReference(string normalizer, double alpha) => AssertAgree(normalizer, 3, training: false, alpha);

    private static void AssertAgree(string normalizer, int batch, bool training, double? alpha)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(2501);
        const long channels = 8;
        using var written = WithRandomAffine(InFloat64(NormalizerFactory.Create(normalizer)(channels)), generator);
        // Enough steps for the running statistics, which start at mean 0 and variance 1, to settle near the data's.
        TrainSteps(written, generator, [6, channels, 3, 3], steps: 100, scale: 1, offset: 1e4);
        using var reference = InFloat64(NormalizerFactory.Create(normalizer)(channels));
        reference.load_state_dict(written.state_dict());
        reference.AutogradBackward = true;
        foreach (var layer in new[] { written, reference })
        {
            layer.train(training);
            if (alpha is { } a) layer.Alpha = a;
        }
        var input = RandomInput(generator, [batch, channels, 3, 3], scale: 1, offset: 1e4);
        var weights = randn([batch, channels, 3, 3], ScalarType.Float64, generator: generator);

        var (x, xReference) = (Leaf(input), Leaf(input));
        var y = written.call(x);
        var yReference = reference.call(xReference);
        (y * weights).sum().backward();
        (yReference * weights).sum().backward();

        // 1e-10, relative to values above 1.
        AssertClose(yReference, y, 1e-10, 1e-10);
        AssertClose(xReference.grad!, x.grad!, 1e-10, 1e-10);
        AssertClose(reference.Weight.grad!, written.Weight.grad!, 1e-10, 1e-10);
        AssertClose(reference.Bias.grad!, written.Bias.grad!, 1e-10, 1e-10);
        foreach (var ((name, expected), (_, actual)) in reference.named_buffers().Zip(written.named_buffers()))
        {
            Assert.True(TestData.RawBytes(expected).SequenceEqual(TestData.RawBytes(actual)), $"{normalizer}: buffer {name} differs");
        }
    }
}
