using MLNetNormalization.Normalization;
using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Tests.Support;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>
/// Running statistics of a float32 layer are stored so that they do not cancel at inference (docs/normalizers.md,
/// section 2, "Storage"): trained on data with a large offset, a float32 layer's eval output
/// with the running statistics alone matches the same layer computed in float64.
/// </summary>
public class RunningStatisticsPrecisionTests
{
    // Every normalizer of the factory that keeps running statistics, in the forms whose statistics differ.
    public static TheoryData<string> LayersWithRunningStatistics => new(
        "bn", "ghost:b=2", "bgn:g=2,b=2", "gn:g=2", "ln", "in", "en:g=1", "en:g=2",
        "hn:g=1", "hn:mean=en2,std=bn", "mn:k=1", "mn:k=2", "mgn:k=2", "sn");

    // An offset of 1e4 with a spread of 1 keeps float32's relative precision (6e-8) from hiding anything:
    // E[x²] ≈ 1e8 in float32 is off by ~4, so E[x²] - E[x]² cancels the whole variance (docs/normalizers.md: "loses 4
    // digits at an offset of 100"), and a float32 running mean is off by ~1e-3 of a unit-variance input.
    private const double Offset = 1e4;
    private const int TrainingSteps = 300;
    private static readonly long[] BatchShape = [8, 4, 4, 4];

    [Theory]
    [MemberData(nameof(LayersWithRunningStatistics))]
    public void AFloat32LayerEvaluatesWithItsRunningStatisticsAsTheFloat64LayerDoes(string specification)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(20240611);
        using var layer = NormalizerFactory.Create(specification, BatchShape[1]);
        Assert.Equal(ScalarType.Float32, layer.Weight.dtype);
        using var reference = NormalizerFactory.Create(specification, BatchShape[1]);
        reference.load_state_dict(layer.state_dict().ToDictionary(s => s.Key, s => s.Value));   // same gate initialization
        InFloat64(reference);

        TrainOnOffsetData(generator, TrainingSteps, layer, reference);

        layer.eval();
        reference.eval();
        layer.Alpha = reference.Alpha = 0;   // the running statistics alone
        var input = RandomInput(generator, BatchShape, scale: 1, offset: Offset, type: ScalarType.Float32);
        var expected = TestData.Values(reference.forward(input.to(ScalarType.Float64)));
        var actual = TestData.Values(layer.forward(input));

        // The outputs are normalized (order 1), so an error of 1e-3 is one the running statistics caused.
        Assert.Contains(expected, v => Math.Abs(v) > 0.5);
        var largestError = expected.Zip(actual, (e, a) => Math.Abs(a - e)).Max();
        Assert.True(largestError <= 1e-3,
            $"{specification}: the float32 layer's eval output is off by up to {largestError:G3} from the float64 layer's (tolerance 1e-3).");
    }

    [Theory]
    [MemberData(nameof(LayersWithRunningStatistics))]
    public void RunningStatisticsStayFloat64BitForBitThroughTypeConversionAndSaving(string specification)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(20240612);
        using var directory = new TempDirectory();
        using var layer = NormalizerFactory.Create(specification, BatchShape[1]);
        TrainOnOffsetData(generator, steps: 3, layer);
        var trained = layer.named_buffers().Select(b => TestData.RawBytes(b.buffer)).ToList();

        layer.to(ScalarType.Float64).to(ScalarType.Float32);
        Assert.Equal(ScalarType.Float32, layer.Weight.dtype);
        Assert.NotEmpty(layer.named_buffers());
        Assert.All(layer.named_buffers(), b => Assert.Equal(ScalarType.Float64, b.buffer.dtype));
        Assert.Equal(trained, layer.named_buffers().Select(b => TestData.RawBytes(b.buffer)));

        var path = directory.File("layer.tensors");
        layer.save(path);
        using var loaded = NormalizerFactory.Create(specification, BatchShape[1]);
        loaded.load(path);
        foreach (var ((_, saved), (_, restored)) in layer.state_dict().Zip(loaded.state_dict())) AssertIdentical(saved, restored);
    }

    // Training forwards (the running statistics move; nothing is learned) on float32 batches of the offset data,
    // each layer given the batch in its own type.
    private static void TrainOnOffsetData(Generator generator, int steps, params NormalizationLayer[] layers)
    {
        using var noGrad = no_grad();
        foreach (var layer in layers) layer.train();
        for (var step = 0; step < steps; step++)
        {
            using var stepScope = NewDisposeScope();
            var batch = RandomInput(generator, BatchShape, scale: 1, offset: Offset, type: ScalarType.Float32);
            foreach (var layer in layers) layer.forward(batch.to(layer.Weight.dtype));
        }
    }
}
