namespace MLNetNormalization.Tests.Binding;

/// <summary>Tensor creation, properties, data in and out, conversions and copies.</summary>
public class TensorBasicsTests
{
    [Fact]
    public void Float32ValuesRoundTripBitForBit()
    {
        using var scope = Torch.NewDisposeScope();
        float[] data = [1.5f, -0f, float.MaxValue, float.Epsilon, float.NaN, float.NegativeInfinity];
        var tensor = Tensor.FromArray(data, 2, 3);
        Assert.Equal(ScalarType.Float32, tensor.Type);
        Assert.Equal(data.Select(BitConverter.SingleToInt32Bits), tensor.ToArray<float>().Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Float64ValuesRoundTripBitForBit()
    {
        using var scope = Torch.NewDisposeScope();
        double[] data = [Math.PI, -0d, double.MinValue, double.Epsilon, double.NaN, 1e-300];
        var tensor = Tensor.FromArray(data, 3, 2);
        Assert.Equal(ScalarType.Float64, tensor.Type);
        Assert.Equal(data.Select(BitConverter.DoubleToInt64Bits), tensor.ToArray<double>().Select(BitConverter.DoubleToInt64Bits));
    }

    [Fact]
    public void IntegerAndBoolValuesRoundTrip()
    {
        using var scope = Torch.NewDisposeScope();
        long[] longs = [long.MinValue, -1, 0, long.MaxValue];
        int[] ints = [int.MinValue, -7, 0, int.MaxValue];
        byte[] bytes = [0, 1, 127, 255];
        bool[] bools = [true, false, false, true];

        var l = Tensor.FromArray(longs, 2, 2);
        var i = Tensor.FromArray(ints);
        var b = Tensor.FromArray(bytes);
        var f = Tensor.FromArray(bools);

        Assert.Equal(ScalarType.Int64, l.Type);
        Assert.Equal(longs, l.ToArray<long>());
        Assert.Equal(ScalarType.Int32, i.Type);
        Assert.Equal(ints, i.ToArray<int>());
        Assert.Equal(ScalarType.UInt8, b.Type);
        Assert.Equal(bytes, b.ToArray<byte>());
        Assert.Equal(ScalarType.Bool, f.Type);
        Assert.Equal(bools, f.ToArray<bool>());
    }

    [Fact]
    public void ReportsShapeRankElementCountTypeAndDevice()
    {
        using var scope = Torch.NewDisposeScope();
        var tensor = Tensor.FromArray(new double[24], 2, 3, 4);
        Assert.Equal([2L, 3, 4], tensor.Shape);
        Assert.Equal(3, tensor.Rank);
        Assert.Equal(24, tensor.ElementCount);
        Assert.Equal(ScalarType.Float64, tensor.Type);
        Assert.Equal(Device.Cpu, tensor.Device);
        Assert.True(tensor.IsContiguous);

        var scalar = Torch.Scalar(2);
        Assert.Equal(0, scalar.Rank);
        Assert.Empty(scalar.Shape);
        Assert.Equal(1, scalar.ElementCount);

        var empty = Torch.Zeros([0, 3]);
        Assert.Equal([0L, 3], empty.Shape);
        Assert.Equal(0, empty.ElementCount);
        Assert.Empty(empty.ToArray<float>());
    }

    [Fact]
    public void FromArrayWithoutShapeIsOneDimensional()
    {
        using var scope = Torch.NewDisposeScope();
        var tensor = Tensor.FromArray(new long[] { 4, 5, 6 });
        Assert.Equal([3L], tensor.Shape);
    }

    [Fact]
    public void FromSpanWithEmptyShapeIsRankZero()
    {
        using var scope = Torch.NewDisposeScope();
        var tensor = Tensor.FromSpan<double>([2.5], []);
        Assert.Equal(0, tensor.Rank);
        Assert.Equal(2.5, tensor.Item<double>());
    }

    [Fact]
    public void CopyToRejectsADestinationOfTheWrongSize()
    {
        using var scope = Torch.NewDisposeScope();
        var tensor = Torch.Zeros([2, 3]);
        var e = Assert.Throws<ArgumentException>(() => tensor.CopyTo<float>(new float[5]));
        Assert.Equal("destination", e.ParamName);
        Assert.Contains("5 elements", e.Message);
        Assert.Contains("has 6", e.Message);
    }

    [Fact]
    public void CopyToRejectsTheWrongElementTypeAndNamesTheConversion()
    {
        using var scope = Torch.NewDisposeScope();
        var tensor = Torch.Zeros([2, 3]);
        var e = Assert.Throws<ArgumentException>(() => tensor.CopyTo<double>(new double[6]));
        Assert.Contains("Float32", e.Message);
        Assert.Contains("To(ScalarType.Float64)", e.Message);
        Assert.Throws<ArgumentException>(() => tensor.ToArray<long>());
    }

    [Fact]
    public void AsReadOnlySpanReadsTheTensorsOwnMemory()
    {
        using var scope = Torch.NewDisposeScope();
        var tensor = Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 2, 2);
        var span = tensor.AsReadOnlySpan<float>();
        Assert.Equal([1f, 2, 3, 4], span.ToArray());

        // A change made by libtorch shows through the span: no copy was taken.
        tensor.MulInPlace(10);
        Assert.Equal([10f, 20, 30, 40], span.ToArray());
    }

    [Fact]
    public void AsReadOnlySpanRejectsANonContiguousTensor()
    {
        using var scope = Torch.NewDisposeScope();
        var tensor = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        var transposed = tensor.Transpose(0, 1);
        Assert.False(transposed.IsContiguous);
        var e = Assert.Throws<InvalidOperationException>(() => transposed.AsReadOnlySpan<float>().Length);
        Assert.Contains("Contiguous()", e.Message);
        Assert.Equal([1f, 4, 2, 5, 3, 6], transposed.Contiguous().AsReadOnlySpan<float>().ToArray());
        Assert.Throws<ArgumentException>(() => tensor.AsReadOnlySpan<double>().Length);
    }

    [Fact]
    public void ItemReturnsTheOnlyValueAndRejectsLargerTensors()
    {
        using var scope = Torch.NewDisposeScope();
        Assert.Equal(-3.25, Torch.Scalar(-3.25, ScalarType.Float64).Item<double>());
        Assert.Equal(7L, Tensor.FromArray(new long[] { 7 }, 1, 1).Item<long>());
        var e = Assert.Throws<InvalidOperationException>(() => Torch.Zeros([2]).Item<float>());
        Assert.Contains("one-element", e.Message);
    }

    [Fact]
    public void ToConvertsTheElementTypeIntoANewTensor()
    {
        using var scope = Torch.NewDisposeScope();
        var source = Tensor.FromArray(new float[] { 1.5f, -2.75f, 3.99f, 0f });

        var asLong = source.To(ScalarType.Int64);
        Assert.Equal([1L, -2, 3, 0], asLong.ToArray<long>());   // truncation toward zero
        Assert.Equal([1.5, -2.75, (double)3.99f, 0], source.To(ScalarType.Float64).ToArray<double>());
        Assert.Equal([true, true, true, false], source.To(ScalarType.Bool).ToArray<bool>());
        Assert.Equal([1, -2, 3, 0], source.To(ScalarType.Int32).ToArray<int>());
        Assert.Equal(ScalarType.Float32, source.Type);
        Assert.Equal([1.5f, -2.75f, 3.99f, 0f], source.ToArray<float>());
    }

    [Fact]
    public void CloneIsIndependentOfTheOriginal()
    {
        using var scope = Torch.NewDisposeScope();
        var original = Tensor.FromArray(new double[] { 1, 2, 3 });
        var clone = original.Clone();
        clone.Fill(9);
        Assert.Equal([1.0, 2, 3], original.ToArray<double>());
        original.AddInPlace(1);
        Assert.Equal([9.0, 9, 9], clone.ToArray<double>());
    }

    [Fact]
    public void CopyFromConvertsBroadcastsAndReturnsTheDestination()
    {
        using var scope = Torch.NewDisposeScope();
        var destination = Torch.Zeros([2, 3]);
        var source = Tensor.FromArray(new double[] { 1.25, -2, 3 });
        Assert.Same(destination, destination.CopyFrom(source));
        Assert.Equal(ScalarType.Float32, destination.Type);
        Assert.Equal([1.25f, -2, 3, 1.25f, -2, 3], destination.ToArray<float>());
        Assert.Equal([1.25, -2, 3], source.ToArray<double>());
    }

    [Fact]
    public void FillAndZeroSetEveryElementInPlace()
    {
        using var scope = Torch.NewDisposeScope();
        var tensor = Tensor.FromArray(new double[] { 1, 2, 3, 4 }, 2, 2);
        Assert.Same(tensor, tensor.Fill(-0.5));
        Assert.Equal([-0.5, -0.5, -0.5, -0.5], tensor.ToArray<double>());
        Assert.Same(tensor, tensor.Zero());
        Assert.Equal([0.0, 0, 0, 0], tensor.ToArray<double>());
    }

    [Fact]
    public void CreationFunctionsProduceTheRequestedValues()
    {
        using var scope = Torch.NewDisposeScope();
        var zeros = Torch.Zeros([2, 2], ScalarType.Int64);
        Assert.Equal(ScalarType.Int64, zeros.Type);
        Assert.Equal([0L, 0, 0, 0], zeros.ToArray<long>());
        Assert.Equal([1f, 1, 1], Torch.Ones([3]).ToArray<float>());
        var full = Torch.Full([2, 1], 2.5, ScalarType.Float64);
        Assert.Equal([2L, 1], full.Shape);
        Assert.Equal([2.5, 2.5], full.ToArray<double>());
        Assert.Equal([0L, 1, 2, 3, 4], Torch.Arange(0, 5).ToArray<long>());
        Assert.Equal([1.0, 1.25, 1.5, 1.75], Torch.Arange(1, 2, 0.25, ScalarType.Float64).ToArray<double>());
        Assert.Equal([5L, 3, 1], Torch.Arange(5, 0, -2).ToArray<long>());
        var fractional = Torch.Arange(0, 1, 0.25);
        Assert.Equal(ScalarType.Float32, fractional.Type);
        Assert.Equal([0f, 0.25f, 0.5f, 0.75f], fractional.ToArray<float>());
        var scalar = Torch.Scalar(3.5, ScalarType.Float64);
        Assert.Equal(0, scalar.Rank);
        Assert.Equal(3.5, scalar.Item<double>());
    }

    [Fact]
    public void ToStringNamesTypeShapeAndDevice()
    {
        using var scope = Torch.NewDisposeScope();
        var tensor = Torch.Zeros([2, 3], ScalarType.Float64);
        Assert.Equal("Tensor(Float64, [2, 3], cpu)", tensor.ToString());
        tensor.Dispose();
        Assert.Equal("Tensor(disposed)", tensor.ToString());
    }
}
