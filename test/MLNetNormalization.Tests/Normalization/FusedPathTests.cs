using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Support;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>
/// The layers that train through libtorch's fused batch_norm (BN, and ghost BN with its remainders) against the general path (cell moments and the layer's
/// algebra, differentiated by autograd), the reference: in float64 on inputs with an offset of 1e4 and a spread of 1, the
/// outputs, the gradients of the input, gamma and beta, and the running statistics agree within 1e-10 (relative above 1),
/// contiguous and channels-last.
/// </summary>
public class FusedPathTests
{
    public static TheoryData<string, int, bool> Cases()
    {
        var data = new TheoryData<string, int, bool>();
        foreach (var (normalizer, batch) in new[] { ("bn", 4), ("bn", 2), ("ghost:b=3", 7), ("ghost:b=3", 8), ("ghost:b=2", 6) })
            foreach (var channelsLast in new[] { false, true })
                data.Add(normalizer, batch, channelsLast);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TrainingAgreesWithTheGeneralPath(string normalizer, int batch, bool channelsLast)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(2502);
        const long channels = 8;
        using var fused = WithRandomAffine(InFloat64(NormalizerFactory.Create(normalizer, channels)), generator);
        using var reference = InFloat64(NormalizerFactory.Create(normalizer, channels));
        reference.load_state_dict(fused.state_dict());
        reference.GeneralPathOnly = true;
        var input = RandomInput(generator, [batch, channels, 3, 3], scale: 1, offset: 1e4);
        if (channelsLast) input = MLNetNormalization.Training.MemoryFormat.ToChannelsLast(input);
        var weights = randn([batch, channels, 3, 3], ScalarType.Float64, generator: generator);

        var (x, xReference) = (Leaf(input), Leaf(input));
        var y = fused.call(x);
        var yReference = reference.call(xReference);
        (y * weights).sum().backward();
        (yReference * weights).sum().backward();

        AssertClose(yReference, y, 1e-10, 1e-10);
        AssertClose(xReference.grad!, x.grad!, 1e-10, 1e-10);
        AssertClose(reference.Weight.grad!, fused.Weight.grad!, 1e-10, 1e-10);
        AssertClose(reference.Bias.grad!, fused.Bias.grad!, 1e-10, 1e-10);
        foreach (var ((name, expected), (_, actual)) in reference.named_buffers().Zip(fused.named_buffers()))
            Expect.Close(TestData.Values(expected), TestData.Values(actual), 1e-10, 1e-10, $"{normalizer}: {name} element");
    }
}
