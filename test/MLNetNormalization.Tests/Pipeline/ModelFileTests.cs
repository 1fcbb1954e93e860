using MLNetNormalization.Backbones;
using System.IO.Compression;
using System.Reflection;
using System.Text;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>
/// Saved model files that are damaged, or not model files at all, each refused by ml.Model.Load with an exception that
/// says what is wrong. The classifier is the second transformer of the saved chain, so its folder in ML.NET's zip is
/// TransformerChain/Transform_001: the description in Model.key (after ML.NET's header), the weights in Weights.bin and
/// the SHA-256 of both in Checksum.sha256. ML.NET calls each loader by reflection, the chain's and then ours, so what our
/// loader throws reaches the caller as the inner exception of two TargetInvocationExceptions. Any change to the
/// description or the weights is refused by the checksum; the tests of what the loader checks behind it re-seal the
/// altered file with a matching checksum, as another writer could.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class ModelFileTests(PipelineFixture fixture)
{
    private const string Folder = "TransformerChain/Transform_001";
    private const string DescriptionEntry = Folder + "/Model.key";
    private const string WeightsEntry = Folder + "/Weights.bin";
    private const string ChecksumEntry = Folder + "/Checksum.sha256";

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
        Reseal(path);
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
        Reseal(path);
        AssertDamaged(LoadError(path), $"{WeightsEntry} has bytes after the weights");
    }

    [Fact]
    public void Weights_that_are_not_a_state_dict_are_refused_as_not_fitting_the_network()
    {
        var path = fixture.CopyOfModel();
        var garbage = new byte[4096];
        new Random(11).NextBytes(garbage);
        Rewrite(path, WeightsEntry, _ => garbage);
        Reseal(path);
        AssertDamaged(LoadError(path), "its weights do not fit the network its description gives");
    }

    [Fact]
    public void A_model_saved_before_the_port_to_TorchSharp_is_refused_saying_so()
    {
        // ML.NET's header: ModelVerWritten and ModelVerReadable are the uints at bytes 72 and 76 (after the signature,
        // version, header size, six offsets and sizes, and the model signature); versions with our own tensor files
        // wrote 0x00010001 in both, this one writes 0x00010003 (with Checksum.sha256).
        var path = fixture.CopyOfModel();
        Rewrite(path, DescriptionEntry, bytes =>
        {
            Assert.Equal((0x00010003u, 0x00010003u), (BitConverter.ToUInt32(bytes, 72), BitConverter.ToUInt32(bytes, 76)));
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
        AssertDamaged(LoadError(path), "its description and weights do not match the SHA-256 saved with them");
        Reseal(path);
        AssertDamaged(LoadError(path), reason);
    }

    [Fact]
    public void A_backbone_whose_network_differs_from_the_saved_weights_is_refused_naming_the_first_difference()
    {
        // A registered backbone whose name is as long as "LeNet": the description stays the same length.
        BackboneRegistry.Register("TinyN", TinyNetwork);
        var path = fixture.CopyOfModel();
        Rewrite(path, DescriptionEntry, bytes => Replace(bytes, "\"Architecture\":\"LeNet\"", "\"Architecture\":\"TinyN\""));
        Reseal(path);
        AssertDamaged(LoadError(path), "its weights do not fit the network its description gives");
        AssertDamaged(LoadError(path), "the network's '0.conv.weight' [4, 1, 3, 3] is not in the saved weights");
    }

    private static readonly BackboneFactory TinyNetwork = (input, classes, normalization) => nn.Sequential(
        new ConvNorm(nn.Conv2d(input.Channels, 4, 3, bias: false), normalization(4)), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, classes));

    [Fact]
    public void A_changed_byte_anywhere_in_the_description_or_the_weights_is_refused_by_the_checksum()
    {
        using (var zip = ZipFile.OpenRead(fixture.ModelPath)) Assert.Contains(zip.Entries, e => e.FullName == ChecksumEntry);
        var (start, length) = DescriptionRange().GetOffsetAndLength(int.MaxValue);
        int weightsLength;
        using (var zip = ZipFile.OpenRead(fixture.ModelPath)) weightsLength = Read(zip, WeightsEntry).Length;
        // Every 97th byte of the description and every 4099th of the weights (their first and last bytes too), one at a time.
        var places = Enumerable.Range(0, length).Where(i => i % 97 == 0 || i == length - 1).Select(i => (DescriptionEntry, start + i))
            .Concat(Enumerable.Range(0, weightsLength).Where(i => i % 4099 == 0 || i == weightsLength - 1).Select(i => (WeightsEntry, i)));
        foreach (var (entry, index) in places)
        {
            var path = fixture.CopyOfModel();
            Rewrite(path, entry, bytes =>
            {
                var copy = (byte[])bytes.Clone();
                copy[index] ^= 0x10;
                return copy;
            });
            AssertDamaged(LoadError(path), "the SHA-256 saved with them");
            File.Delete(path);
        }
    }

    [Fact]
    public void A_flipped_byte_anywhere_in_the_model_file_is_refused_or_changes_no_score()
    {
        // The whole zip as it lies on disk: ML.NET's other transformers, the zip's own headers and directory, our folder.
        var original = File.ReadAllBytes(fixture.ModelPath);
        var expected = Columns.Bits(Columns.Vectors(fixture.Scored));
        var outcomes = new Dictionary<string, int>();
        for (var index = 0; index < original.Length; index += original.Length / 150)
        {
            var path = fixture.Folder.File($"flipped-{index}.zip");
            var damaged = (byte[])original.Clone();
            damaged[index] ^= 0x01;
            File.WriteAllBytes(path, damaged);
            string outcome;
            try
            {
                var model = fixture.Context.Model.Load(path, out _);
                var scores = Columns.Bits(Columns.Vectors(model.Transform(fixture.Test)));
                Assert.True(expected.SequenceEqual(scores), $"byte {index} of {original.Length} flipped: the model loaded and scored differently");
                outcome = "same scores";
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                outcome = "refused";
            }
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            File.Delete(path);
        }
        Assert.True(outcomes.GetValueOrDefault("refused") > 0, string.Join(", ", outcomes));
    }

    [Fact]
    public void A_missing_checksum_is_refused_naming_it()
    {
        var path = fixture.CopyOfModel();
        Rewrite(path, ChecksumEntry, _ => null);
        AssertDamaged(LoadError(path), $"the stream {Path.GetFileName(ChecksumEntry)} with the checksum of its description and weights is missing");
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

    /// <summary>Where the description's JSON lies in Model.key of the saved model (the tests' alterations keep both).</summary>
    private Range DescriptionRange()
    {
        using var zip = ZipFile.OpenRead(fixture.ModelPath);
        var bytes = Read(zip, DescriptionEntry);
        var start = bytes.AsSpan().IndexOf("{\"Architecture\""u8);
        Assert.True(start >= 0, $"no description in {DescriptionEntry}");
        var reader = new System.Text.Json.Utf8JsonReader(bytes.AsSpan(start));
        Assert.True(reader.Read() && reader.TrySkip(), $"{DescriptionEntry} holds no whole JSON object");
        return start..(start + (int)reader.BytesConsumed);
    }

    /// <summary>
    /// Writes the SHA-256 of the file's description and weights as they are now into Checksum.sha256 (the format
    /// docs/model-file-format.md gives), so that the loader's checks behind the checksum see the altered file.
    /// </summary>
    private void Reseal(string path)
    {
        byte[] description, weights;
        using (var zip = ZipFile.OpenRead(path)) (description, weights) = (Read(zip, DescriptionEntry)[DescriptionRange()], Read(zip, WeightsEntry));
        var checksum = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData([.. description, .. weights]));
        Rewrite(path, ChecksumEntry, _ => Encoding.UTF8.GetBytes(checksum));
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
