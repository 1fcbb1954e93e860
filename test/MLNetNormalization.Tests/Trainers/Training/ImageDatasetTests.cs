using MLNetNormalization;
using MLNetNormalization.Data;

namespace MLNetNormalization.Tests.Trainers.Training;

/// <summary>The in-memory image source: pixels scaled to [0, 1] channel by channel, subsets, and its input checks.</summary>
public sealed class ImageDatasetTests
{
    private static readonly string[] Classes = ["a", "b", "c"];

    // Three 2-channel 1x2 images; example i's pixels are 10i .. 10i + 3, its label i % 3.
    private static ImageDataset ThreeImages() =>
        new([0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23], [0, 1, 2], new ImageShape(2, 1, 2), Classes);

    [Fact]
    public void ReadImageScalesTheExamplesBytesToTheUnitInterval()
    {
        var data = ThreeImages();
        var image = new float[4];
        data.ReadImage(1, image);
        Assert.Equal([10 / 255f, 11 / 255f, 12 / 255f, 13 / 255f], image);
        Assert.Equal(1, data.GetLabel(1));
        Assert.Equal(3, data.Count);
    }

    [Fact]
    public void SubsetCopiesTheChosenExamplesInTheGivenOrder()
    {
        var data = ThreeImages();
        var subset = data.Subset([2, 0]);
        Assert.Equal([20, 21, 22, 23, 0, 1, 2, 3], subset.Pixels);
        Assert.Equal([2, 0], subset.Labels);
        Assert.Equal(data.Shape, subset.Shape);
        subset.Pixels[0] = 99;
        Assert.Equal(20, data.Pixels[8]);   // shares nothing with the original
    }

    [Fact]
    public void PixelCountThatDoesNotFitTheLabelsIsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => new ImageDataset(new byte[7], [0, 1], new ImageShape(1, 2, 2), Classes));
        Assert.Contains("2 labels need 8 pixels of 1x2x2 images, got 7", error.Message);
    }

    [Fact]
    public void LabelOutsideTheClassesIsRefusedWithItsExample()
    {
        var error = Assert.Throws<ArgumentException>(() => new ImageDataset(new byte[2], [0, 3], new ImageShape(1, 1, 1), Classes));
        Assert.Contains("Label 3 (example 1) is outside the 3 classes", error.Message);
    }

    [Fact]
    public void EmptyImageShapeIsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageDataset([], [], new ImageShape(0, 1, 1), Classes));
}
