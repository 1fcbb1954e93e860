using System.Buffers.Binary;
using MLNetNormalization.TorchBinding.Serialization;

namespace MLNetNormalization.Tests.Binding;

/// <summary>The named-tensor file: bit-exact round trips, atomic writes, and rejection of damaged files.</summary>
public class TensorFileTests
{
    /// <summary>One tensor of every element type, a rank-0 tensor, an empty one, and awkward float values.</summary>
    private static List<(string Name, Tensor Value)> Sample()
    {
        using var generator = new Generator(150);
        return
        [
            ("float32", Torch.Randn([2, 3], generator)),
            ("float32.specials", Tensor.FromArray(new[] { float.NaN, -0f, float.PositiveInfinity, float.Epsilon })),
            ("float64", Torch.Randn([3, 1, 2], generator, ScalarType.Float64)),
            ("int64", Tensor.FromArray(new[] { long.MinValue, -1L, 0L, long.MaxValue }, 2, 2)),
            ("int32", Tensor.FromArray(new[] { int.MinValue, 5 })),
            ("byte", Tensor.FromArray(new byte[] { 0, 7, 255 })),
            ("bool", Tensor.FromArray(new[] { true, false, true })),
            ("rank0", Torch.Scalar(Math.PI, ScalarType.Float64)),
            ("empty", Torch.Zeros([0, 3])),
            ("named ünïcode", Torch.Ones([1])),
        ];
    }

    [Fact]
    public void EveryTypeAndShapeRoundTripsBitForBit()
    {
        using var directory = new TempDirectory();
        using var scope = Torch.NewDisposeScope();
        var path = directory.File("sample.tensors");
        var sample = Sample();
        TensorFile.Save(path, sample);

        var loaded = TensorFile.Load(path);
        Assert.Equal(sample.Select(s => s.Name).Order(), loaded.Keys.Order());
        foreach (var (name, original) in sample)
        {
            var copy = loaded[name];
            Assert.Equal(original.Type, copy.Type);
            Assert.Equal(original.Shape, copy.Shape);
            Assert.True(TestData.RawBytes(original).SequenceEqual(TestData.RawBytes(copy)), $"{name} differs");
        }
        Assert.Equal(0, loaded["rank0"].Rank);
        Assert.Equal([0L, 3], loaded["empty"].Shape);
        foreach (var tensor in loaded.Values) tensor.Dispose();
    }

    [Fact]
    public void SavingLeavesNoTemporaryFileAndReplacesAnOldFile()
    {
        using var directory = new TempDirectory();
        using var scope = Torch.NewDisposeScope();
        var path = directory.File("state.tensors");
        TensorFile.Save(path, [("a", Torch.Ones([3]))]);
        TensorFile.Save(path, [("b", Torch.Zeros([2], ScalarType.Int64))]);

        Assert.Equal(["state.tensors"], Directory.GetFiles(directory.Path).Select(Path.GetFileName));
        Assert.False(File.Exists(path + ".tmp"));
        var loaded = TensorFile.Load(path);
        Assert.Equal(["b"], loaded.Keys);
        Assert.Equal([0L, 0], loaded["b"].ToArray<long>());
        loaded["b"].Dispose();
    }

    private static byte[] SavedBytes(TempDirectory directory)
    {
        using var scope = Torch.NewDisposeScope();
        var path = directory.File("original.tensors");
        TensorFile.Save(path, [("weight", TestData.Float32([1, 2, 3, 4], 2, 2)), ("steps", TestData.Int64([7], 1))]);
        return File.ReadAllBytes(path);
    }

    [Fact]
    public void EveryTruncationIsRejectedAndNamesTheFile()
    {
        using var directory = new TempDirectory();
        var bytes = SavedBytes(directory);
        var path = directory.File("truncated.tensors");
        for (var length = 0; length < bytes.Length; length++)
        {
            File.WriteAllBytes(path, bytes[..length]);
            var e = Assert.Throws<InvalidDataException>(() => TensorFile.Load(path));
            Assert.Contains(path, e.Message);
        }
        // Cut inside the data of the last tensor: the message says what happened.
        File.WriteAllBytes(path, bytes[..^3]);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => TensorFile.Load(path)).Message);
    }

    [Fact]
    public void AWrongMagicIsRejected()
    {
        using var directory = new TempDirectory();
        var bytes = SavedBytes(directory);
        bytes[0] = (byte)'X';
        var path = directory.File("magic.tensors");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => TensorFile.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not a tensor file", e.Message);
    }

    [Fact]
    public void AnotherFormatVersionIsRejected()
    {
        using var directory = new TempDirectory();
        var bytes = SavedBytes(directory);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), TensorFile.FormatVersion + 1);
        var path = directory.File("version.tensors");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => TensorFile.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains($"version {TensorFile.FormatVersion + 1}", e.Message);
    }

    [Fact]
    public void TrailingBytesAreRejected()
    {
        using var directory = new TempDirectory();
        var path = directory.File("trailing.tensors");
        File.WriteAllBytes(path, [.. SavedBytes(directory), 0]);
        var e = Assert.Throws<InvalidDataException>(() => TensorFile.Load(path));
        Assert.Contains("1 bytes after its last tensor", e.Message);
    }

    [Fact]
    public void ADuplicateNameIsRejected()
    {
        using var directory = new TempDirectory();
        using var scope = Torch.NewDisposeScope();
        var path = directory.File("duplicate.tensors");
        TensorFile.Save(path, [("x", Torch.Ones([1])), ("x", Torch.Zeros([1]))]);
        Assert.Contains("'x' twice", Assert.Throws<InvalidDataException>(() => TensorFile.Load(path)).Message);
    }

    [Fact]
    public void AMissingFileIsReportedAsSuch()
    {
        using var directory = new TempDirectory();
        var path = directory.File("absent.tensors");
        var e = Assert.Throws<FileNotFoundException>(() => TensorFile.Load(path));
        Assert.Equal(path, e.FileName);
    }

    [Fact]
    public void ACorruptSizeIsRejectedWithoutReadingPastTheFile()
    {
        using var directory = new TempDirectory();
        var bytes = SavedBytes(directory);
        // Header: magic (8), version (4), count (4); entry: name length (4), "weight" (6), type (4), rank (4), then the sizes.
        const int firstSize = 8 + 4 + 4 + 4 + 6 + 4 + 4;
        const int byteCount = firstSize + 2 * 8;
        Assert.Equal(2, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(firstSize)));
        Assert.Equal(16, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(byteCount)));
        var path = directory.File("corrupt.tensors");

        // A size and byte count that agree with each other but not with the file: 16 GiB of float32.
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(firstSize), 1L << 31);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(byteCount), (1L << 31) * 2 * 4);
        File.WriteAllBytes(path, bytes);
        Assert.Contains(path, Assert.Throws<InvalidDataException>(() => TensorFile.Load(path)).Message);

        // Sizes whose product overflows a long.
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(firstSize), 1L << 62);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(firstSize + 8), 4);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(byteCount), 0);
        File.WriteAllBytes(path, bytes);
        Assert.Contains(path, Assert.Throws<InvalidDataException>(() => TensorFile.Load(path)).Message);
    }

    [Fact]
    public void AFailedSaveLeavesTheOldFileAndNoTemporaryFile()
    {
        using var directory = new TempDirectory();
        using var scope = Torch.NewDisposeScope();
        var path = directory.File("state.tensors");
        TensorFile.Save(path, [("kept", TestData.Float64([1, 2], 2))]);
        var disposed = Torch.Zeros([2]);
        disposed.Dispose();

        Assert.Throws<ObjectDisposedException>(() => TensorFile.Save(path, [("fine", Torch.Ones([1])), ("broken", disposed)]));
        Assert.Equal(["state.tensors"], Directory.GetFiles(directory.Path).Select(Path.GetFileName));
        var loaded = TensorFile.Load(path);
        Assert.Equal([1.0, 2], loaded["kept"].ToArray<double>());
    }
}
