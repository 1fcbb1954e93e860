using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Support;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>
/// The fast paths against the general path (cell moments and the layer's algebra as libtorch ops, differentiated
/// by autograd), the reference: libtorch's fused batch_norm (BN, and ghost BN with its remainders), and the statistics
/// algebra in .NET arrays with its backward written out (every other pixel set, remainder chunks of BGN, HN's pairs of
/// sets, SN's mixtures, MN's and MGN's modes; at inference, forward, at every alpha path). In float64 on inputs with an
/// offset of 1e4 and a spread of 1, the outputs, the gradients of the input and of every parameter, and the running
/// statistics agree within 1e-10 (relative above 1), contiguous and channels-last.
/// </summary>
public class FusedPathTests
{
    private const long Channels = 8;

    private static readonly (string Normalizer, int Batch)[] Layers =
    [
        ("bn", 4), ("bn", 2), ("ghost:b=3", 7), ("ghost:b=3", 8), ("ghost:b=2", 6),
        ("gn:g=4", 3), ("ln", 3), ("in", 2), ("en:g=2", 3), ("en:g=1", 2), ("bgn:g=2,b=2", 5), ("bgn:g=4,b=3", 6),
        ("hn:g=2", 3), ("hn:mean=gn2,std=en1", 3), ("hn:mean=bn,std=bn", 2), ("hn:mean=in,std=ln", 2), ("sn", 3), ("sn", 1),
        ("mn:k=1", 3), ("mn:k=2", 4), ("mn:k=3", 2), ("mn:k=4", 5), ("mgn:k=1", 2), ("mgn:k=2", 3), ("mgn:k=3,weighted=true", 2),
    ];

    public static TheoryData<string, int, bool> Cases()
    {
        var data = new TheoryData<string, int, bool>();
        foreach (var (normalizer, batch) in Layers)
            foreach (var channelsLast in new[] { false, true })
                data.Add(normalizer, batch, channelsLast);
        return data;
    }

    public static TheoryData<string, double, bool> InferenceCases()
    {
        var data = new TheoryData<string, double, bool>();
        foreach (var normalizer in Layers.Select(layer => layer.Normalizer).Distinct())
            foreach (var alpha in new[] { 0, 0.3, 1 })
                foreach (var channelsLast in new[] { false, true })
                    data.Add(normalizer, alpha, channelsLast);
        return data;
    }

    [Theory]
    [MemberData(nameof(InferenceCases))]
    public void InferenceAgreesWithTheGeneralPath(string normalizer, double alpha, bool channelsLast)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(2503);
        using var fast = RandomLayer(normalizer, generator);
        TrainSteps(fast, generator, [4, Channels, 3, 3], scale: 1, offset: 1e4);
        using var reference = GeneralPathCopy(normalizer, fast);
        fast.eval();
        reference.eval();
        fast.Alpha = reference.Alpha = alpha;
        var input = RandomInput(generator, [3, Channels, 3, 3], scale: 1, offset: 1e4);
        if (channelsLast) input = MLNetNormalization.Training.MemoryFormat.ToChannelsLast(input);

        using var noGrad = no_grad();
        AssertClose(reference.call(input), fast.call(input), 1e-10, 1e-10);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TrainingAgreesWithTheGeneralPath(string normalizer, int batch, bool channelsLast)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(2502);
        using var fused = RandomLayer(normalizer, generator);
        using var reference = GeneralPathCopy(normalizer, fused);
        var input = RandomInput(generator, [batch, Channels, 3, 3], scale: 1, offset: 1e4);
        if (channelsLast) input = MLNetNormalization.Training.MemoryFormat.ToChannelsLast(input);
        var weights = randn([batch, Channels, 3, 3], ScalarType.Float64, generator: generator);

        var (x, xReference) = (Leaf(input), Leaf(input));
        var y = fused.call(x);
        var yReference = reference.call(xReference);
        (y * weights).sum().backward();
        (yReference * weights).sum().backward();

        AssertClose(yReference, y, 1e-10, 1e-10);
        AssertClose(xReference.grad!, x.grad!, 1e-10, 1e-10);
        foreach (var ((name, expected), (_, actual)) in reference.named_parameters().Zip(fused.named_parameters()))
            Expect.Close(TestData.Values(expected.grad!), TestData.Values(actual.grad!), 1e-10, 1e-10, $"{normalizer}: gradient of {name} element");
        foreach (var ((name, expected), (_, actual)) in reference.named_buffers().Zip(fused.named_buffers()))
            Expect.Close(TestData.Values(expected), TestData.Values(actual), 1e-10, 1e-10, $"{normalizer}: {name} element");
    }

    // A float64 layer with random gamma, beta and gates (MN, MGN, SN).
    private static NormalizationLayer RandomLayer(string normalizer, Generator generator)
    {
        var layer = WithRandomAffine(InFloat64(NormalizerFactory.Create(normalizer, Channels)), generator);
        using var noGrad = no_grad();
        foreach (var gate in layer.GatingParameters())
            gate.copy_(randn(gate.shape, ScalarType.Float64, generator: generator));
        return layer;
    }

    // The same layer, parameters and running statistics, on the general path: the reference.
    private static NormalizationLayer GeneralPathCopy(string normalizer, NormalizationLayer layer)
    {
        var reference = InFloat64(NormalizerFactory.Create(normalizer, Channels));
        reference.load_state_dict(layer.state_dict());
        reference.GeneralPathOnly = true;
        return reference;
    }
}
