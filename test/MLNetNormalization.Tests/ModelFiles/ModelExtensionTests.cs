using MLNetNormalization.Data;
using MLNetNormalization.Model;
using MLNetNormalization.Tests.DataViews;

namespace MLNetNormalization.Tests.ModelFiles;

/// <summary>
/// The contract other transformers save through (ISavableTransformer, ModelWriter/ModelReader, ModelLoaderRegistry),
/// exercised by test transformers: JSON, bytes, tensors and a nested transformer; and saves that fail atomically.
/// </summary>
public class ModelExtensionTests
{
    private static readonly MLNormContext Context = new(2);

    /// <summary>A stand-in for a trained model: options as JSON, raw bytes, weights as tensors and a nested pre-processing transformer.</summary>
    private sealed class WeightsTransformer(string name, byte[] raw, float[] weights, long[] counts, ITransformer inner) : ISavableTransformer
    {
        public const string Kind = "Tests.Weights";

        private sealed record OptionsJson(string Name, int Version);

        public string Name => name;
        public byte[] Raw => raw;
        public float[] Weights => weights;
        public long[] Counts => counts;
        public ITransformer Inner => inner;

        public string KindName => Kind;

        public void Save(ModelWriter writer)
        {
            writer.WriteJson("options.json", new OptionsJson(name, 3));
            writer.WriteBytes("raw.bin", raw);
            using var scope = Torch.NewDisposeScope();
            writer.WriteTensors("weights.tensors", [("fc.weight", Tensor.FromArray(weights, 2, weights.Length / 2)), ("fc.counts", Tensor.FromArray(counts))]);
            writer.WriteTransformer("inner", inner);
        }

        public static ITransformer Load(ModelReader reader)
        {
            var options = reader.ReadJson<OptionsJson>("options.json");
            Assert.Equal(3, options.Version);
            var tensors = reader.ReadTensors("weights.tensors");
            try
            {
                return new WeightsTransformer(options.Name, reader.ReadBytes("raw.bin"),
                    tensors["fc.weight"].ToArray<float>(), tensors["fc.counts"].ToArray<long>(), reader.ReadTransformer("inner"));
            }
            finally
            {
                foreach (var tensor in tensors.Values) tensor.Dispose();
            }
        }

        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inner.GetOutputSchema(inputSchema);

        public IDataView Transform(IDataView input) => inner.Transform(input);
    }

    /// <summary>Fails in the middle of saving, after writing an entry, as a transformer whose state cannot be read would.</summary>
    private sealed class FailingTransformer : ISavableTransformer
    {
        public const string Kind = "Tests.Failing";

        public string KindName => Kind;

        public void Save(ModelWriter writer)
        {
            writer.WriteJson("first.json", 1);
            throw new IOException("the weights could not be read");
        }

        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inputSchema;

        public IDataView Transform(IDataView input) => input;
    }

    private sealed class UnregisteredTransformer : ISavableTransformer
    {
        public string KindName => "Tests.NeverRegistered";

        public void Save(ModelWriter writer) => writer.WriteBytes("x", [1]);

        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inputSchema;

        public IDataView Transform(IDataView input) => input;
    }

    private sealed class PlainTransformer : ITransformer
    {
        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inputSchema;

        public IDataView Transform(IDataView input) => input;
    }

    static ModelExtensionTests()
    {
        ModelLoaderRegistry.Register(WeightsTransformer.Kind, WeightsTransformer.Load);
        ModelLoaderRegistry.Register(FailingTransformer.Kind, _ => throw new InvalidOperationException("never loaded: its save always fails"));
    }

    private static ITransformer KeyModel()
    {
        var data = Context.Data.LoadFromEnumerable(new[] { new IdRow { Id = 1, Name = "one" }, new IdRow { Id = 2, Name = "two" } });
        return Context.Transforms.Conversion.MapValueToKey("Key", "Name").Fit(data);
    }

    [Fact]
    public void ATransformerSavesJsonBytesTensorsAndANestedTransformerThroughTheContract()
    {
        var weights = new[] { 1.5f, float.NaN, -0f, float.Epsilon, 3e38f, -7f };
        long[] counts = [long.MinValue, 0, long.MaxValue];
        byte[] raw = [0, 255, 7];
        var model = new TransformerChain<ITransformer>(new WeightsTransformer("net ü", raw, weights, counts, KeyModel()));
        using var stream = new MemoryStream();
        Context.Model.Save(model, null, stream);
        stream.Position = 0;

        var loaded = Assert.IsType<WeightsTransformer>(Assert.IsType<TransformerChain<ITransformer>>(Context.Model.Load(stream, out _)).Single());
        Assert.Equal("net ü", loaded.Name);
        Assert.Equal(raw, loaded.Raw);
        Assert.Equal(weights.Select(BitConverter.SingleToInt32Bits), loaded.Weights.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(counts, loaded.Counts);
        var data = Context.Data.LoadFromEnumerable(new[] { new IdRow { Id = 1, Name = "two" } });
        Assert.Equal([2u], DataTestSupport.ReadColumn<uint>(loaded.Transform(data), "Key"));
    }

    [Fact]
    public void AFailingSaveLeavesThePreviousFileIntactAndNoTemporaryFile()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "model.zip");
        Context.Model.Save(KeyModel(), null, path);
        var before = File.ReadAllBytes(path);

        var failing = new TransformerChain<ITransformer>(KeyModel(), new FailingTransformer());
        Assert.Equal("the weights could not be read", Assert.Throws<IOException>(() => Context.Model.Save(failing, null, path)).Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(folder.Path));

        var error = Assert.Throws<NotSupportedException>(() => Context.Model.Save(new TransformerChain<ITransformer>(new PlainTransformer()), null, path));
        Assert.StartsWith("The transformer PlainTransformer cannot be saved to a model file: it does not implement saving", error.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(folder.Path));
        Context.Model.Load(path, out _);
    }

    [Fact]
    public void AKindWithoutALoaderIsRefusedWhenSavingAndAKindIsRegisteredOnce()
    {
        using var stream = new MemoryStream();
        var error = Assert.Throws<NotSupportedException>(() => Context.Model.Save(new UnregisteredTransformer(), null, stream));
        Assert.StartsWith("The transformer UnregisteredTransformer saves as kind 'Tests.NeverRegistered', which has no loader registered", error.Message);
        Assert.Equal(0, stream.Length);

        var twice = Assert.Throws<InvalidOperationException>(() => ModelLoaderRegistry.Register(WeightsTransformer.Kind, WeightsTransformer.Load));
        Assert.Contains("'Tests.Weights' already has a loader", twice.Message);
    }

    [Fact]
    public void EntryNamesCannotLeaveTheTransformersFolder()
    {
        foreach (var name in new[] { "../escape", "a/b", "", "..", "sp ace" })
            Assert.Throws<ArgumentException>(() => ModelArchive.CheckEntryName(name));
        Assert.Equal("weights-1.tensors", ModelArchive.CheckEntryName("weights-1.tensors"));
    }
}
