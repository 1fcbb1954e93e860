using MLNetNormalization.Tests.Support;
using MLNetNormalization;
using MLNetNormalization.Backbones;
using MLNetNormalization.Data;
using MLNetNormalization.Training;

namespace MLNetNormalization.Tests.Trainers.Training;

/// <summary>
/// A small synthetic image task: four classes of stripes (horizontal, vertical, diagonal, anti-diagonal)
/// with a random phase and pixel noise, so that a tiny network learns it in a few epochs while the
/// augmentation (shifts, mirrors) still leaves every class recognisable.
/// </summary>
internal static class SyntheticImages
{
    public static readonly string[] ClassNames = ["horizontal", "vertical", "diagonal", "antidiagonal"];

    /// <summary><paramref name="count"/> images (label i % 4), drawn from a System.Random seeded by <paramref name="seed"/>.</summary>
    public static ImageDataset Create(int count, int seed, int channels = 1, int side = 12, IReadOnlyList<string>? classNames = null)
    {
        var random = new Random(seed);
        var shape = new ImageShape(channels, side, side);
        var pixels = new byte[count * shape.ElementCount];
        var labels = new byte[count];
        for (var i = 0; i < count; i++)
        {
            labels[i] = (byte)(i % 4);
            var phase = random.Next(4);
            for (var c = 0; c < channels; c++)
                for (var y = 0; y < side; y++)
                    for (var x = 0; x < side; x++)
                    {
                        var coordinate = labels[i] switch { 0 => y, 1 => x, 2 => x + y, _ => x - y + side };
                        var bright = (coordinate + phase) % 4 < 2;
                        pixels[i * shape.ElementCount + (c * side + y) * side + x] =
                            (byte)Math.Clamp((bright ? 190 : 60) + random.Next(-40, 41), 0, 255);
                    }
        }
        return new ImageDataset(pixels, labels, shape, classNames ?? ClassNames);
    }
}

/// <summary>
/// Two ConvNorm units (BatchNorm2d), global average pooling, dropout and a linear classifier: small enough
/// to train in milliseconds, and with dropout, so that training draws from the global generator and a
/// resumed run only matches an uninterrupted one if the generator's state is restored too.
/// </summary>
internal sealed class TinyNet : nn.Module<Tensor, Tensor>
{
    private readonly TorchSharp.Modules.Sequential features;
    private readonly TorchSharp.Modules.Linear classifier;

    private TinyNet(int channels, int width, int classes, Func<long, nn.Module<Tensor, Tensor>> norm) : base(nameof(TinyNet))
    {
        features = nn.Sequential(
            new ConvNorm(nn.Conv2d(channels, width, 3, padding: 1, bias: false), norm(width)), nn.ReLU(), nn.MaxPool2d(2),
            new ConvNorm(nn.Conv2d(width, 8, 3, padding: 1, bias: false), norm(8)), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.25));
        classifier = nn.Linear(8, classes);
        RegisterComponents();
    }

    /// <summary>
    /// A TinyNet initialised from the global generator seeded with <paramref name="initSeed"/>: the same seed, the same
    /// weights. <paramref name="norm"/>: the normalization layer for a channel count (BatchNorm2d when null).
    /// </summary>
    public static TinyNet Create(ulong initSeed = 1, int channels = 1, int width = 6, int classes = 4, Func<long, nn.Module<Tensor, Tensor>>? norm = null)
    {
        torch.manual_seed((long)initSeed);
        return new TinyNet(channels, width, classes, norm ?? (c => nn.BatchNorm2d(c)));
    }

    public override Tensor forward(Tensor input) => classifier.call(features.call(input));
}

/// <summary>Bit-exact snapshots of model states and comparisons between them.</summary>
internal static class States
{
    /// <summary>The tensors of a model file (<c>Module.save</c> format, as best.mlnt), by name, as raw bytes.</summary>
    public static Dictionary<string, byte[]> OfModelFile(string path, nn.Module model)
    {
        var tensors = ModelFile.Load(path, model);
        try
        {
            return tensors.ToDictionary(t => t.Key, t => TestData.RawBytes(t.Value));
        }
        finally
        {
            foreach (var tensor in tensors.Values) tensor.Dispose();
        }
    }

    /// <summary>Every parameter and buffer of <paramref name="model"/> as raw bytes, by name.</summary>
    public static Dictionary<string, byte[]> Of(nn.Module model) =>
        model.state_dict().ToDictionary(s => s.Key, s => TestData.RawBytes(s.Value));

    /// <summary>The tensors of a checkpoint whose names start with <paramref name="prefix"/>, by name without it, as raw bytes.</summary>
    public static Dictionary<string, byte[]> OfFile(string path, string prefix = "")
    {
        var tensors = Checkpoint.ReadTensors(path).Tensors;
        try
        {
            return tensors.Where(t => t.Key.StartsWith(prefix, StringComparison.Ordinal))
                .ToDictionary(t => t.Key[prefix.Length..], t => TestData.RawBytes(t.Value));
        }
        finally
        {
            foreach (var tensor in tensors.Values) tensor.Dispose();
        }
    }

    public static void AssertEqual(IReadOnlyDictionary<string, byte[]> expected, IReadOnlyDictionary<string, byte[]> actual, string what)
    {
        Assert.True(expected.Keys.Order().SequenceEqual(actual.Keys.Order()),
            $"{what}: the tensor names differ: [{string.Join(", ", expected.Keys.Order())}] vs [{string.Join(", ", actual.Keys.Order())}]");
        var differing = expected.Where(e => !e.Value.AsSpan().SequenceEqual(actual[e.Key])).Select(e => e.Key).ToList();
        Assert.True(differing.Count == 0, $"{what}: these tensors differ bit for bit: {string.Join(", ", differing)}");
    }

    /// <summary>Asserts that at least one tensor differs.</summary>
    public static void AssertDifferent(IReadOnlyDictionary<string, byte[]> first, IReadOnlyDictionary<string, byte[]> second, string what) =>
        Assert.False(first.All(e => e.Value.AsSpan().SequenceEqual(second[e.Key])), $"{what}: every tensor is bit-identical, but they should differ");
}

/// <summary>The data and options of the trainer tests: 64 training and 32 validation images, 8 steps an epoch.</summary>
internal static class TrainerRuns
{
    public const int StepsPerEpoch = 8;

    public static readonly ImageDataset Train = SyntheticImages.Create(64, seed: 1);
    public static readonly ImageDataset Validation = SyntheticImages.Create(32, seed: 2);

    /// <summary>
    /// Three epochs with the rate halved after epochs 1 and 2 (0.05, 0.025, 0.0125), augmentation on, so that
    /// a resumed run must get the schedule, the data order, the augmentation and the dropout masks right.
    /// </summary>
    public static TrainingOptions Options(string? workspace = null) => new()
    {
        Epochs = 3, BatchSize = 8, LearningRate = 0.05, Momentum = 0.9, WeightDecay = 1e-4,
        Schedule = LearningRateScheduleKind.MultiStep, Milestones = [1, 2], ScheduleGamma = 0.5,
        CropPadding = 1, HorizontalFlip = true, Seed = 3, ProgressEverySteps = 1, PrefetchBatches = 2,
        WorkspacePath = workspace,
    };
}
