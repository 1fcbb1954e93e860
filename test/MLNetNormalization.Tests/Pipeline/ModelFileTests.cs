using System.IO.Compression;
using System.Reflection;
using System.Text;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>
/// Saved model files that are damaged, or not model files at all, each refused by ml.Model.Load with an exception that
/// says what is wrong. The classifier is the second transformer of the saved chain, so its folder in ML.NET's zip is
/// TransformerChain/Transform_001: the description in Model.key (after ML.NET's header) and the weights in Weights.bin.
/// ML.NET calls each loader by reflection, the chain's and then ours, so what our loader throws reaches the caller as the
/// inner exception of two TargetInvocationExceptions.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class ModelFileTests(PipelineFixture fixture)
{
    private const string Folder = "TransformerChain/Transform_001";
    private const string DescriptionEntry = Folder + "/Model.key";
    private const string WeightsEntry = Folder + "/Weights.bin";

    [Fact]
    public void The_classifiers_folder_holds_its_description_and_weights_where_these_tests_alter_them()
    {
        // The premise of the tests below: if ML.NET laid the zip out otherwise, they would alter nothing that matters.
        using var zip = ZipFile.OpenRead(fixture.ModelPath);
        Assert.Contains(zip.Entries, e => e.FullName == WeightsEntry);
        Assert.Contains("{\"Architecture\":\"LeNet\"", Encoding.UTF8.GetString(Read(zip, DescriptionEntry)));
    }

    [Fact]
    public void A_truncated_model_file_is_refused_as_not_a_zip()
    {
        var path = fixture.CopyOfModel();
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var error = Assert.Throws<FormatException>(() => fixture.Context.Model.Load(path, out _));
        Assert.Contains("Failed to open a zip archive", error.Message);
    }

    [Fact]
    public void A_file_of_random_bytes_is_refused_as_not_a_zip()
    {
        var path = fixture.Folder.File($"random-{Guid.NewGuid():N}.zip");
        var bytes = new byte[4096];
        new Random(7).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<FormatException>(() => fixture.Context.Model.Load(path, out _));
        Assert.Contains("Failed to open a zip archive", error.Message);
    }

    [Fact]
    public void Missing_weights_are_refused_naming_the_folder_and_saying_to_save_again()
    {
        var path = fixture.CopyOfModel();
        Rewrite(path, WeightsEntry, _ => null);
        AssertDamaged(LoadError(path), "the stream Weights.bin with the weights is missing");
    }

    [Fact]
    public void Truncated_weights_are_refused_naming_the_weights_entry()
    {
        var path = fixture.CopyOfModel();
        Rewrite(path, WeightsEntry, bytes => bytes[..^100]);
        Assert.Contains($"{WeightsEntry} is truncated", LoadError(path).Message);
    }

    [Fact]
    public void The_weights_are_the_networks_state_dict_as_TorchSharps_Module_save_writes_it()
    {
        // The format docs/model-file-format.md gives: a LEB128 count, then per entry a .NET string name, a LEB128 element
        // type, rank and dimensions, and the values; the oracle is the classifier's own state_dict.
        using var zip = ZipFile.OpenRead(fixture.ModelPath);
        var weights = Read(zip, WeightsEntry);
        var expected = fixture.Classifier.State();
        using var reader = new BinaryReader(new MemoryStream(weights));
        Assert.Equal(expected.Count, Leb128(reader));
        foreach (var (name, tensor) in expected)
        {
            Assert.Equal(name, reader.ReadString());
            Assert.Equal((long)tensor.dtype, Leb128(reader));
            var rank = Leb128(reader);
            Assert.Equal(tensor.shape, Enumerable.Range(0, (int)rank).Select(_ => Leb128(reader)).ToArray());
            Assert.Equal(tensor.bytes.ToArray(), reader.ReadBytes((int)(tensor.numel() * tensor.ElementSize)));
        }
        Assert.Equal(weights.Length, reader.BaseStream.Position);
    }

    [Fact]
    public void Weights_with_bytes_after_the_network_are_refused()
    {
        var path = fixture.CopyOfModel();
        Rewrite(path, WeightsEntry, bytes => [.. bytes, 0, 1, 2]);
        AssertDamaged(LoadError(path), $"{WeightsEntry} has bytes after the weights");
    }

    [Fact]
    public void Weights_that_are_not_a_state_dict_are_refused_as_not_fitting_the_network()
    {
        var path = fixture.CopyOfModel();
        var garbage = new byte[4096];
        new Random(11).NextBytes(garbage);
        Rewrite(path, WeightsEntry, _ => garbage);
        AssertDamaged(LoadError(path), "its weights do not fit the network its description gives");
    }

    [Fact]
    public void A_model_saved_before_the_port_to_TorchSharp_is_refused_saying_so()
    {
        // ML.NET's header: ModelVerWritten and ModelVerReadable are the uints at bytes 72 and 76 (after the signature,
        // version, header size, six offsets and sizes, and the model signature); versions with our own tensor files
        // wrote 0x00010001 in both.
        var path = fixture.CopyOfModel();
        Rewrite(path, DescriptionEntry, bytes =>
        {
            Assert.Equal((0x00010002u, 0x00010002u), (BitConverter.ToUInt32(bytes, 72), BitConverter.ToUInt32(bytes, 76)));
            var copy = (byte[])bytes.Clone();
            BitConverter.GetBytes(0x00010001u).CopyTo(copy, 72);
            BitConverter.GetBytes(0x00010001u).CopyTo(copy, 76);
            return copy;
        });
        AssertDamaged(LoadError(path), "it was saved by a version before the port to TorchSharp");
    }

    [Theory]
    // Each change keeps the description's length, so ML.NET's header (which records it) still reads.
    [InlineData("\"Height\":16", "\"Height\":20", "its weights do not fit the network its description gives")]   // a wider first linear layer
    [InlineData("\"ClassCount\":3", "\"ClassCount\":4", "4 classes with 3 key values")]
    [InlineData("{\"Architecture\"", "[\"Architecture\"", "its description cannot be read")]
    [InlineData("\"Architecture\":\"LeNet\"", "\"Architecture\":\"LeNex\"", "the architecture 'LeNex' is not one this build knows")]
    public void An_altered_description_is_refused_naming_the_folder_and_what_is_wrong(string original, string altered, string reason)
    {
        var path = fixture.CopyOfModel();
        Rewrite(path, DescriptionEntry, bytes => Replace(bytes, original, altered));
        AssertDamaged(LoadError(path), reason);
    }

    /// <summary>What the classifier's loader threw when ml.Model.Load read <paramref name="path"/>, from inside ML.NET's reflection wrappers.</summary>
    private InvalidDataException LoadError(string path)
    {
        Exception error = Assert.Throws<TargetInvocationException>(() => fixture.Context.Model.Load(path, out _));
        while (error is TargetInvocationException { InnerException: { } inner }) error = inner;
        return Assert.IsType<InvalidDataException>(error);
    }

    private static void AssertDamaged(InvalidDataException error, string reason)
    {
        Assert.Contains($"The ImageClassifierWithNorm model in '{Folder}' of this model file is damaged or from another version", error.Message);
        Assert.Contains(reason, error.Message);
        Assert.Contains("Save the model again with this version", error.Message);
    }

    private static long Leb128(BinaryReader reader)
    {
        long value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = reader.ReadByte();
            value |= (long)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
    }

    private static byte[] Replace(byte[] bytes, string original, string altered)
    {
        var from = Encoding.UTF8.GetBytes(original);
        var to = Encoding.UTF8.GetBytes(altered);
        Assert.Equal(from.Length, to.Length);
        var at = bytes.AsSpan().IndexOf(from);
        Assert.True(at >= 0, $"'{original}' is not in {DescriptionEntry}");
        var copy = (byte[])bytes.Clone();
        to.CopyTo(copy, at);
        return copy;
    }

    private static byte[] Read(ZipArchive zip, string name)
    {
        using var stream = zip.GetEntry(name)!.Open();
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }

    /// <summary>Replaces entry <paramref name="name"/> of the zip by what <paramref name="change"/> makes of its bytes, or removes it when that is null.</summary>
    private static void Rewrite(string path, string name, Func<byte[], byte[]?> change)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
        var bytes = Read(zip, name);
        zip.GetEntry(name)!.Delete();
        if (change(bytes) is not { } changed) return;
        using var stream = zip.CreateEntry(name).Open();
        stream.Write(changed);
    }
}
