using MLNetNormalization.Trainers.Evaluation;

namespace MLNetNormalization.Tests.Trainers.Evaluation;

/// <summary>Bad input to the accumulator fails at once, with a message naming the problem and what to pass instead.</summary>
public class MulticlassMetricsValidationTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    public void FewerThanTwoClassesAreRejected(int classes)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new MulticlassMetricsAccumulator(classes));
        Assert.Equal("numberOfClasses", error.ParamName);
        Assert.Contains("at least 2 classes", error.Message);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(4)]
    public void TopKOutsideZeroToTheClassCountIsRejected(int topK)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new MulticlassMetricsAccumulator(3, topK));
        Assert.Equal("topKPredictionCount", error.ParamName);
        Assert.Contains("[0, 3]", error.Message);
    }

    [Fact]
    public void ClassNamesMustBeOnePerClass()
    {
        var error = Assert.Throws<ArgumentException>(() => new MulticlassMetricsAccumulator(3, classNames: ["a", "b"]));
        Assert.Equal("classNames", error.ParamName);
        Assert.Contains("2 class names were given for 3 classes", error.Message);

        var nullName = Assert.Throws<ArgumentException>(() => new MulticlassMetricsAccumulator(2, classNames: ["a", null!]));
        Assert.Contains("class 1 is null", nullName.Message);
    }

    [Fact]
    public void AProbabilityRowOfTheWrongLengthIsRejected()
    {
        var accumulator = new MulticlassMetricsAccumulator(3);
        var error = Assert.Throws<ArgumentException>(() => accumulator.Add([0.5f, 0.5f], 0));
        Assert.Contains("has 2 values", error.Message);
        Assert.Contains("evaluates 3 classes", error.Message);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(3)]
    public void ALabelOutsideTheClassesIsRejected(int label)
    {
        var accumulator = new MulticlassMetricsAccumulator(3);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => accumulator.Add([0.5f, 0.25f, 0.25f], label));
        Assert.Equal("label", error.ParamName);
        Assert.Contains("[0, 2]", error.Message);
    }

    [Fact]
    public void ANonFiniteProbabilityIsRejected()
    {
        var accumulator = new MulticlassMetricsAccumulator(3);
        var error = Assert.Throws<ArgumentException>(() => accumulator.Add([0.5f, float.NaN, 0.5f], 0));
        Assert.Contains("class 1", error.Message);
        Assert.Contains("not finite", error.Message);
    }

    [Fact]
    public void LogitsAreRejectedAsNegativeOrNotSummingToOne()
    {
        var accumulator = new MulticlassMetricsAccumulator(3);
        var negative = Assert.Throws<ArgumentException>(() => accumulator.Add([2.5f, -1f, 0.3f], 0));
        Assert.Contains("negative", negative.Message);
        Assert.Contains("not logits", negative.Message);

        var unnormalized = Assert.Throws<ArgumentException>(() => accumulator.Add([2.5f, 1f, 0.3f], 0));
        Assert.Contains("sum to 3.8", unnormalized.Message);
        Assert.Contains("softmax", unnormalized.Message);
        Assert.Equal(0, accumulator.NumberOfExamples);
    }

    [Fact]
    public void ABatchWhoseSizesDisagreeIsRejected()
    {
        var accumulator = new MulticlassMetricsAccumulator(3);
        var error = Assert.Throws<ArgumentException>(() => accumulator.Add(new float[5], [0L, 1L]));
        Assert.Equal("probabilitiesRowMajor", error.ParamName);
        Assert.Contains("2 × 3 = 6 probabilities", error.Message);
        Assert.Contains("5 were given", error.Message);
    }

    [Fact]
    public void ABatchLabelBeyondIntIsRejectedNotWrapped()
    {
        // 2^32 + 1 would wrap to the valid label 1 if it were cast to int before the range check.
        var accumulator = new MulticlassMetricsAccumulator(3);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => accumulator.Add([0.5f, 0.25f, 0.25f], [(1L << 32) + 1]));
        Assert.Equal("labels", error.ParamName);
        Assert.Contains("example 0 of the batch is 4294967297", error.Message);
    }

    [Fact]
    public void ABadRowInABatchIsNamedByItsIndex()
    {
        var accumulator = new MulticlassMetricsAccumulator(2);
        var error = Assert.Throws<ArgumentException>(() => accumulator.Add([0.5f, 0.5f, 0.9f, 0.9f], [0L, 1L]));
        Assert.Equal("probabilitiesRowMajor", error.ParamName);
        Assert.Contains("example 1 of the batch", error.Message);
    }

    [Fact]
    public void ComputingWithoutExamplesIsAnError()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new MulticlassMetricsAccumulator(3).Compute());
        Assert.Contains("No examples were added", error.Message);
    }

    [Fact]
    public void TheWholeSetFormRejectsMismatchedOrEmptyInput()
    {
        var mismatched = Assert.Throws<ArgumentException>(() =>
            MulticlassMetricsAccumulator.Compute([[0.5f, 0.5f]], [0, 1]));
        Assert.Contains("1 probability rows but 2 labels", mismatched.Message);

        var empty = Assert.Throws<ArgumentException>(() => MulticlassMetricsAccumulator.Compute([], []));
        Assert.Contains("no examples", empty.Message);

        var ragged = Assert.Throws<ArgumentException>(() =>
            MulticlassMetricsAccumulator.Compute([[0.5f, 0.5f], [0.5f, 0.25f, 0.25f]], [0, 1]));
        Assert.Contains("example 1", ragged.Message);
        Assert.Contains("has 3 values", ragged.Message);
    }

    [Fact]
    public void AClassIndexOutsideTheConfusionMatrixIsRejected()
    {
        var matrix = MulticlassMetricsAccumulator.Compute([[0.5f, 0.5f]], [0]).ConfusionMatrix;
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => matrix.GetCountForClassPair(2, 0));
        Assert.Equal("predictedClassIndex", error.ParamName);
        Assert.Contains("[0, 1]", error.Message);
    }
}
