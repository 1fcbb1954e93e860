using MLNetNormalization;
using MLNetNormalization.Data;

namespace MLNetNormalization.Tests.Trainers.Training;

/// <summary>The float image source: values read back as given, subsets, and its input checks.</summary>
public sealed class InMemoryImageSourceTests
{
    private static readonly string[] Classes = ["a", "b"];

    [Fact]
    public void ReadsEachExamplesValuesAsGivenAndSubsetsInTheGivenOrder()
    {
        var source = new InMemoryImageSource(new ImageShape(1, 1, 2), Classes, [0.5f, -1f, 2f, 3f, 4f, 5f], [1, 0, 1]);
        var image = new float[2];
        source.ReadImage(1, image);
        Assert.Equal([2f, 3f], image);
        var subset = source.Subset([2, 0]);
        subset.ReadImage(0, image);
        Assert.Equal([4f, 5f], image);
        Assert.Equal((2, 1, 1), (subset.Count, subset.GetLabel(0), subset.GetLabel(1)));
    }

    [Fact]
    public void ValueCountThatDoesNotFitTheLabelsIsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => new InMemoryImageSource(new ImageShape(1, 1, 2), Classes, new float[5], [0, 1, 0]));
        Assert.Contains("3 labels need 6 values of 1x1x2 images, got 5", error.Message);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(2)]
    public void LabelOutsideTheClassesIsRefused(int label)
    {
        var error = Assert.Throws<ArgumentException>(() => new InMemoryImageSource(new ImageShape(1, 1, 1), Classes, new float[2], [0, label]));
        Assert.Contains($"Label {label} (example 1) is outside the 2 classes", error.Message);
    }
}
