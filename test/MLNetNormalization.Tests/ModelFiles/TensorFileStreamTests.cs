using MLNetNormalization.TorchBinding.Serialization;
using MLNetNormalization.Tests.DataViews;

namespace MLNetNormalization.Tests.ModelFiles;

/// <summary>TensorFile's stream overloads, which model files use: the same bytes as the file API, and the same checks.</summary>
public class TensorFileStreamTests
{
    [Fact]
    public void AStreamHoldsTheSameBytesAsAFileAndReadsBackBitForBit()
    {
        using var folder = new TempFolder();
        using var scope = Torch.NewDisposeScope();
        List<(string, Tensor)> tensors =
        [
            ("w", Tensor.FromArray(new[] { float.NaN, -0f, 1e-45f, 2f }, 2, 2)),
            ("n", Tensor.FromArray(new[] { long.MaxValue })),
        ];
        var path = Path.Combine(folder.Path, "t.tensors");
        TensorFile.Save(path, tensors);
        using var stream = new MemoryStream();
        stream.WriteByte(42);   // the tensors need not start the stream
        TensorFile.Save(stream, tensors);
        Assert.True(stream.CanWrite);
        Assert.Equal(File.ReadAllBytes(path), stream.ToArray()[1..]);

        stream.Position = 1;
        var loaded = TensorFile.Load(stream, "the test stream");
        Assert.Equal(new[] { float.NaN, -0f, 1e-45f, 2f }.Select(BitConverter.SingleToInt32Bits), loaded["w"].ToArray<float>().Select(BitConverter.SingleToInt32Bits));
        Assert.Equal([2L, 2L], loaded["w"].Shape);
        Assert.Equal([long.MaxValue], loaded["n"].ToArray<long>());
        foreach (var tensor in loaded.Values) tensor.Dispose();
    }

    [Fact]
    public void ATruncatedOrUnseekableStreamIsAnErrorNamingTheSource()
    {
        using var scope = Torch.NewDisposeScope();
        using var stream = new MemoryStream();
        TensorFile.Save(stream, [("w", Torch.Ones([3]))]);
        var truncated = new MemoryStream(stream.ToArray()[..^2]);
        Assert.Equal("model.zip (entry model/w.tensors) is truncated: it ends inside tensor 1.",
            Assert.Throws<InvalidDataException>(() => TensorFile.Load(truncated, "model.zip (entry model/w.tensors)")).Message);

        var error = Assert.Throws<ArgumentException>(() => TensorFile.Load(new UnseekableStream(stream.ToArray()), "the pipe"));
        Assert.StartsWith("Reading the pipe: TensorFile.Load needs a seekable stream", error.Message);
    }

    private sealed class UnseekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
