using System.Text;
using MLNetNormalization.Data;
using MLNetNormalization.Model;
using MLNetNormalization.Tests.DataViews;

namespace MLNetNormalization.Tests.ModelFiles;

/// <summary>
/// Model.Save and Model.Load: a fitted key-mapping pipeline comes back transforming data exactly as the original does
/// (the original model is the oracle), and every kind of damaged file is refused with an error naming it.
/// </summary>
public class ModelFileTests
{
    public sealed class Animal
    {
        public string Kind { get; set; } = "";
        public float Size { get; set; }
    }

    private static readonly MLNormContext Context = new(1);

    private static IDataView Animals(params (string Kind, float Size)[] rows) =>
        Context.Data.LoadFromEnumerable(rows.Select(r => new Animal { Kind = r.Kind, Size = r.Size }).ToList());

    private static readonly IDataView Zoo = Animals(("dog", 2.5f), ("cat", float.NaN), ("dog", 1), ("bird", float.PositiveInfinity));

    /// <summary>Kind → Key (by occurrence), Size → SizeKey (by value), Key → Back: text, numbers, infinity and NaN.</summary>
    private static ITransformer FitPipeline() =>
        Context.Transforms.Conversion.MapValueToKey("Key", "Kind")
            .Append(Context.Transforms.Conversion.MapValueToKey("SizeKey", "Size", keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue))
            .Append(Context.Transforms.Conversion.MapKeyToValue("Back", "Key"))
            .Fit(Zoo);

    private static string SavedPipeline(TempFolder folder)
    {
        var path = Path.Combine(folder.Path, "model.zip");
        Context.Model.Save(FitPipeline(), Zoo.Schema, path);
        return path;
    }

    private static void AssertSameRows(IDataView expected, IDataView actual)
    {
        Assert.Equal(expected.Schema.Select(c => (c.Name, c.Type, c.IsHidden)), actual.Schema.Select(c => (c.Name, c.Type, c.IsHidden)));
        Assert.Equal(DataTestSupport.ReadColumn<string>(expected, "Kind"), DataTestSupport.ReadColumn<string>(actual, "Kind"));
        Assert.Equal(DataTestSupport.ReadColumn<float>(expected, "Size"), DataTestSupport.ReadColumn<float>(actual, "Size"));
        Assert.Equal(DataTestSupport.ReadColumn<uint>(expected, "Key"), DataTestSupport.ReadColumn<uint>(actual, "Key"));
        Assert.Equal(DataTestSupport.ReadColumn<uint>(expected, "SizeKey"), DataTestSupport.ReadColumn<uint>(actual, "SizeKey"));
        Assert.Equal(DataTestSupport.ReadColumn<string>(expected, "Back"), DataTestSupport.ReadColumn<string>(actual, "Back"));
        string[] kinds = [], loadedKinds = [];
        float[] sizes = [], loadedSizes = [];
        expected.Schema["Key"].GetKeyValues(ref kinds);
        actual.Schema["Key"].GetKeyValues(ref loadedKinds);
        expected.Schema["SizeKey"].GetKeyValues(ref sizes);
        actual.Schema["SizeKey"].GetKeyValues(ref loadedSizes);
        Assert.Equal(kinds, loadedKinds);
        Assert.Equal(sizes, loadedSizes);
    }

    [Fact]
    public void ALoadedPipelineTransformsDataExactlyAsTheSavedOne()
    {
        using var folder = new TempFolder();
        var model = FitPipeline();
        var path = Path.Combine(folder.Path, "model.zip");
        Context.Model.Save(model, Zoo.Schema, path);

        var loaded = Context.Model.Load(path, out _);
        var chain = Assert.IsType<TransformerChain<ITransformer>>(loaded);
        Assert.Equal([typeof(ValueToKeyMappingTransformer), typeof(ValueToKeyMappingTransformer), typeof(KeyToValueMappingTransformer)],
            chain.Select(t => t.GetType()));
        AssertSameRows(model.Transform(Zoo), loaded.Transform(Zoo));
        // Values the model never saw, and the keys worked out by hand for the training data.
        var other = Animals(("cow", 1), ("bird", 7), ("cat", float.PositiveInfinity));
        AssertSameRows(model.Transform(other), loaded.Transform(other));
        Assert.Equal([1u, 2u, 1u, 3u], DataTestSupport.ReadColumn<uint>(loaded.Transform(Zoo), "Key"));
        Assert.Equal([2u, 0u, 1u, 3u], DataTestSupport.ReadColumn<uint>(loaded.Transform(Zoo), "SizeKey"));
    }

    [Fact]
    public void NestedChainsAndStreamsRoundTrip()
    {
        var model = FitPipeline();
        var nested = new TransformerChain<ITransformer>(model, Context.Transforms.Conversion.MapKeyToValue("SizeBack", "SizeKey").Fit(model.Transform(Zoo)));
        using var stream = new MemoryStream();
        Context.Model.Save(nested, null, stream);
        stream.Position = 0;

        var loaded = Context.Model.Load(stream, out var schema);
        Assert.Null(schema);
        var outer = Assert.IsType<TransformerChain<ITransformer>>(loaded);
        Assert.Equal(3, Assert.IsType<TransformerChain<ITransformer>>(outer.First()).Count());
        AssertSameRows(nested.Transform(Zoo), loaded.Transform(Zoo));
        Assert.Equal([2.5f, float.NaN, 1f, float.PositiveInfinity], DataTestSupport.ReadColumn<float>(loaded.Transform(Zoo), "SizeBack"));
    }

    [Fact]
    public void SavingTheSameModelTwiceGivesTheSameBytes()
    {
        using var folder = new TempFolder();
        var model = FitPipeline();
        var first = Path.Combine(folder.Path, "a.zip");
        var second = Path.Combine(folder.Path, "b.zip");
        Context.Model.Save(model, Zoo.Schema, first);
        Context.Model.Save(model, Zoo.Schema, second);
        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
        Assert.Equal(["manifest.json", "schema.json", "model/kind.txt", "model/chain.json", "model/0/kind.txt", "model/0/map.json",
            "model/1/kind.txt", "model/1/map.json", "model/2/kind.txt", "model/2/columns.json"], ModelFileSupport.EntryNames(first));
    }

    [Fact]
    public void TheInputSchemaRoundTripsWithTypesKeyCountsAndKeyValues()
    {
        var schema = new DataViewSchema.Builder()
            .AddColumn("Single", NumberDataViewType.Single)
            .AddColumn("Double", NumberDataViewType.Double)
            .AddColumn("Byte", NumberDataViewType.Byte)
            .AddColumn("Int32", NumberDataViewType.Int32)
            .AddColumn("Int64", NumberDataViewType.Int64)
            .AddColumn("UInt32", NumberDataViewType.UInt32)
            .AddColumn("Text", TextDataViewType.Instance)
            .AddColumn("Flag", BooleanDataViewType.Instance)
            .AddColumn("Label", new KeyDataViewType(3), DataViewSchema.Annotations.Create(AnnotationKinds.KeyValues,
                new VectorDataViewType(TextDataViewType.Instance, 3), new[] { "ant", "bee", "ünïcode \"quoted\"" }))
            .AddColumn("Sizes", new KeyDataViewType(2), DataViewSchema.Annotations.Create(AnnotationKinds.KeyValues,
                new VectorDataViewType(NumberDataViewType.Single, 2), new[] { float.NegativeInfinity, 0.1f }))
            .AddColumn("Bare", new KeyDataViewType(uint.MaxValue))
            .AddColumn("Image", new VectorDataViewType(NumberDataViewType.Single, 3, 32, 32))
            .AddColumn("Bytes", new VectorDataViewType(NumberDataViewType.Byte))
            .AddColumn("Text", NumberDataViewType.Int64, DataViewSchema.Annotations.Create("Note", TextDataViewType.Instance, "hides the first Text"))
            .ToSchema();
        using var stream = new MemoryStream();
        Context.Model.Save(FitPipeline(), schema, stream);
        stream.Position = 0;

        Context.Model.Load(stream, out var loaded);
        Assert.NotNull(loaded);
        Assert.Equal(schema.Select(c => (c.Name, c.Index, c.Type, c.IsHidden)), loaded.Select(c => (c.Name, c.Index, c.Type, c.IsHidden)));
        Assert.Equal(schema.Select(c => c.Annotations.Kinds.ToArray()), loaded.Select(c => c.Annotations.Kinds.ToArray()));
        Assert.Equal(new KeyDataViewType(3), loaded["Label"].Type);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 3, 32, 32), loaded["Image"].Type);
        string[] labels = [];
        loaded["Label"].GetKeyValues(ref labels);
        Assert.Equal(["ant", "bee", "ünïcode \"quoted\""], labels);
        float[] sizes = [];
        loaded["Sizes"].GetKeyValues(ref sizes);
        Assert.Equal([float.NegativeInfinity, 0.1f], sizes);
        var note = "";
        loaded["Text"].Annotations.GetValue("Note", ref note);
        Assert.Equal("hides the first Text", note);
        Assert.Equal(NumberDataViewType.Int64, loaded["Text"].Type);
    }

    [Fact]
    public void AFlippedByteInsideAnEntryIsReportedAsAnAlteredEntry()
    {
        using var folder = new TempFolder();
        var path = SavedPipeline(folder);
        var original = File.ReadAllBytes(path);
        foreach (var entry in new[] { "model/0/map.json", "schema.json", "model/kind.txt" })
        {
            var bytes = (byte[])original.Clone();
            var (start, length) = ModelFileSupport.EntryData(bytes, entry);
            bytes[start + length / 2] ^= 0x55;
            File.WriteAllBytes(path, bytes);

            var error = Assert.Throws<InvalidDataException>(() => Context.Model.Load(path, out _));
            Assert.StartsWith($"{path} was altered: entry {entry} ", error.Message);
        }
    }

    [Fact]
    public void AnEntryRewrittenAsAValidZipFailsItsChecksum()
    {
        using var folder = new TempFolder();
        var path = SavedPipeline(folder);
        var map = Encoding.UTF8.GetString(ModelFileSupport.ReadEntry(path, "model/0/map.json"));
        Assert.Contains("\"bird\"", map);
        ModelFileSupport.RewriteEntry(path, "model/0/map.json", Encoding.UTF8.GetBytes(map.Replace("\"bird\"", "\"wolf\"")), fixManifest: false);

        var error = Assert.Throws<InvalidDataException>(() => Context.Model.Load(path, out _));
        Assert.Equal($"{path} was altered: entry model/0/map.json does not match its checksum.", error.Message);
    }

    [Fact]
    public void AnEntryRemovedOrAddedIsReported()
    {
        using var folder = new TempFolder();
        var path = SavedPipeline(folder);
        var pristine = File.ReadAllBytes(path);
        ModelFileSupport.RewriteEntry(path, "model/1/map.json", null, fixManifest: false);
        Assert.Equal($"{path} was altered: entry model/1/map.json, listed in its manifest, is missing.",
            Assert.Throws<InvalidDataException>(() => Context.Model.Load(path, out _)).Message);

        File.WriteAllBytes(path, pristine);
        ModelFileSupport.RewriteEntry(path, "model/extra.bin", [1, 2, 3], fixManifest: false);
        Assert.Equal($"{path} was altered: entry model/extra.bin is not in its manifest.",
            Assert.Throws<InvalidDataException>(() => Context.Model.Load(path, out _)).Message);
    }

    [Fact]
    public void ATruncatedFileIsRefusedAtEveryLength()
    {
        using var folder = new TempFolder();
        var path = SavedPipeline(folder);
        var bytes = File.ReadAllBytes(path);
        var truncated = Path.Combine(folder.Path, "truncated.zip");
        foreach (var length in new[] { 0, 1, 4, 30, bytes.Length / 3, bytes.Length / 2, bytes.Length - 23, bytes.Length - 1 })
        {
            File.WriteAllBytes(truncated, bytes[..length]);
            var error = Assert.Throws<InvalidDataException>(() => Context.Model.Load(truncated, out _));
            Assert.StartsWith($"{truncated} is not a model file or is truncated", error.Message);
        }
    }

    [Fact]
    public void AFileThatIsNotAZipOrHasNoManifestIsRefused()
    {
        using var folder = new TempFolder();
        var text = folder.Write("model.zip", "Kind,Size\ndog,2.5\n");
        Assert.StartsWith($"{text} is not a model file or is truncated",
            Assert.Throws<InvalidDataException>(() => Context.Model.Load(text, out _)).Message);

        var tensors = Path.Combine(folder.Path, "plain.zip");
        using (var zip = System.IO.Compression.ZipFile.Open(tensors, System.IO.Compression.ZipArchiveMode.Create)) zip.CreateEntry("readme.txt");
        Assert.Equal($"{tensors} is not a model file: it is a zip archive without manifest.json.",
            Assert.Throws<InvalidDataException>(() => Context.Model.Load(tensors, out _)).Message);
    }

    [Fact]
    public void AFutureFormatVersionOrAnotherFormatIsRefusedNamingTheVersions()
    {
        using var folder = new TempFolder();
        var path = SavedPipeline(folder);
        var pristine = File.ReadAllBytes(path);
        ModelFileSupport.RewriteManifest(path, manifest =>
        {
            manifest["formatVersion"] = 2;
            manifest["libraryVersion"] = "9.9.9";
            manifest["somethingNew"] = "a field version 1 does not have";
        });
        var error = Assert.Throws<InvalidDataException>(() => Context.Model.Load(path, out _));
        Assert.StartsWith($"{path} has model format version 2 (written by MLNetNormalization 9.9.9); this build (", error.Message);
        Assert.EndsWith(") reads version 1 only. Load it with a newer build of the library.", error.Message);

        File.WriteAllBytes(path, pristine);
        ModelFileSupport.RewriteManifest(path, manifest => manifest["format"] = "SomethingElse");
        Assert.Equal($"{path} is not a model file of this library: its manifest names the format 'SomethingElse', not 'MLNetNormalization.Model'.",
            Assert.Throws<InvalidDataException>(() => Context.Model.Load(path, out _)).Message);
    }

    [Fact]
    public void AnUnknownTransformerKindIsRefusedListingTheKnownKinds()
    {
        using var folder = new TempFolder();
        var path = SavedPipeline(folder);
        ModelFileSupport.RewriteEntry(path, "model/1/kind.txt", "Bogus"u8.ToArray(), fixManifest: true);

        var error = Assert.Throws<InvalidDataException>(() => Context.Model.Load(path, out _));
        Assert.StartsWith($"{path} holds a transformer of kind 'Bogus' (in model/1/), which this build cannot load; it knows ", error.Message);
        Assert.Contains("KeyToValueMapping", error.Message);
        Assert.Contains("TransformerChain", error.Message);
        Assert.Contains("ValueToKeyMapping", error.Message);
    }

    [Fact]
    public void ADamagedEntryWithAValidChecksumIsAnErrorNamingIt()
    {
        using var folder = new TempFolder();
        var path = SavedPipeline(folder);
        ModelFileSupport.RewriteEntry(path, "model/0/map.json", "{\"outputColumnName\": \"Key\"}"u8.ToArray(), fixManifest: true);
        var error = Assert.Throws<InvalidDataException>(() => Context.Model.Load(path, out _));
        Assert.StartsWith($"{path} is damaged: entry model/0/map.json of the ValueToKeyMapping transformer is not the JSON it expects", error.Message);

        ModelFileSupport.RewriteEntry(path, "model/0/map.json",
            "{\"outputColumnName\":\"Key\",\"inputColumnName\":\"Kind\",\"itemType\":{\"kind\":\"String\"},\"values\":[\"a\",\"a\"]}"u8.ToArray(), fixManifest: true);
        error = Assert.Throws<InvalidDataException>(() => Context.Model.Load(path, out _));
        Assert.StartsWith($"{path} is damaged: entry model/0/map.json of the ValueToKeyMapping transformer holds a key map this build cannot use", error.Message);
    }

    [Fact]
    public void SavingIntoAMissingFolderNamesTheFileAskedFor()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "missing", "model.zip");
        var error = Assert.Throws<DirectoryNotFoundException>(() => Context.Model.Save(FitPipeline(), null, path));
        Assert.Equal($"Cannot save the model to {path}: the folder {Path.GetDirectoryName(path)} does not exist; create it first.", error.Message);
    }

    [Fact]
    public void AMissingFileIsAFileNotFoundExceptionNamingIt()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "nowhere.zip");
        var error = Assert.Throws<FileNotFoundException>(() => Context.Model.Load(path, out _));
        Assert.Equal(path, error.FileName);
        Assert.Contains(path, error.Message);
    }
}
