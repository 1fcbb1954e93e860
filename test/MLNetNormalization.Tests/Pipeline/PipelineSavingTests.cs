using System.Text;
using System.Text.Json.Nodes;
using MLNetNormalization.Data;
using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Binding;
using MLNetNormalization.Tests.DataViews;
using MLNetNormalization.Tests.ModelFiles;
using MLNetNormalization.Trainers.ImageClassification;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>
/// The image pipeline of <see cref="PipelineFixture"/> with mode normalization (running statistics per mode) and a
/// non-default inference alpha, trained briefly, saved with <c>Model.Save</c> and loaded back once.
/// </summary>
public sealed class SavedPipelineFixture : IDisposable
{
    public const double Alpha = 0.3;

    public SavedPipelineFixture()
    {
        PipelineFixture.WriteImages(Folder.Path, perClass: 8);
        Context = new MLNormContext(PipelineFixture.Seed);
        var split = Context.Data.TrainTestSplit(Context.Data.LoadImagesFromDirectory(Folder.Path), testFraction: 0.25, seed: PipelineFixture.Seed,
            stratificationColumnName: "Label");
        Train = split.TrainSet;
        Test = split.TestSet;
        var options = PipelineFixture.SmallOptions();
        options.Epochs = 2;
        options.NormalizerSpecification = "mn:k=2";
        options.InferenceAlpha = Alpha;
        Model = PipelineFixture.Preparation(Context).Append(Context.MulticlassClassification.Trainers.ImageClassifierWithNorm(options)).Fit(Train);
        Path = System.IO.Path.Combine(Folder.Path, "model.zip");
        Context.Model.Save(Model, Train.Schema, Path);
        Loaded = Context.Model.Load(Path, out var schema);
        LoadedSchema = schema;
    }

    public TempFolder Folder { get; } = new();
    public MLNormContext Context { get; }
    public IDataView Train { get; }
    public IDataView Test { get; }
    public TransformerChain<ImageClassificationTransformer> Model { get; }
    public string Path { get; }
    public ITransformer Loaded { get; }
    public DataViewSchema? LoadedSchema { get; }

    /// <summary>A copy of the saved file, for a test to alter.</summary>
    public string Copy()
    {
        var copy = System.IO.Path.Combine(Folder.Path, $"copy-{Guid.NewGuid():N}.zip");
        File.Copy(Path, copy);
        return copy;
    }

    public void Dispose()
    {
        Model.LastTransformer!.Dispose();
        ((IEnumerable<ITransformer>)Loaded).OfType<ImageClassificationTransformer>().Single().Dispose();
        Folder.Dispose();
    }
}

[Collection(TestCollections.GlobalRandom)]
public sealed class PipelineSavingTests(SavedPipelineFixture fixture) : IClassFixture<SavedPipelineFixture>
{
    private const string ClassifierEntry = "model/4/classifier.json";
    private const string WeightsEntry = "model/4/weights.bin";

    [Fact]
    public void The_loaded_model_scores_the_test_split_bit_for_bit_as_the_original_and_evaluates_the_same()
    {
        var original = fixture.Model.Transform(fixture.Test);
        var loaded = fixture.Loaded.Transform(fixture.Test);
        var scores = DataTestSupport.ReadColumn<float[]>(original, "Score");
        Assert.Equal(6, scores.Count);   // 2 of each class's 8, stratified
        // Oracle: the original model's own outputs; the loaded one must compute exactly the same floats.
        Assert.Equal(scores, DataTestSupport.ReadColumn<float[]>(loaded, "Score"));
        Assert.Equal(DataTestSupport.ReadColumn<uint>(original, "PredictedLabel"), DataTestSupport.ReadColumn<uint>(loaded, "PredictedLabel"));
        var expected = fixture.Context.MulticlassClassification.Evaluate(original);
        var actual = fixture.Context.MulticlassClassification.Evaluate(loaded);
        Assert.Equal(expected, actual);

        // The loaded classifier is the saved one: class names, alpha on every layer with running statistics, columns.
        var classifier = ((IEnumerable<ITransformer>)fixture.Loaded).OfType<ImageClassificationTransformer>().Single();
        Assert.Equal<string>(PipelineFixture.Classes, classifier.ClassNames);
        Assert.Equal(SavedPipelineFixture.Alpha, classifier.InferenceAlpha);
        var layers = NormalizationModel.Layers(classifier.Model).Where(l => l.Layer.HasRunningStatistics).ToList();
        Assert.NotEmpty(layers);
        Assert.All(layers, l => Assert.Equal(SavedPipelineFixture.Alpha, l.Layer.Alpha));
        Assert.Equal(fixture.Train.Schema.Select(c => (c.Name, c.Type)), fixture.LoadedSchema!.Select(c => (c.Name, c.Type)));
    }

    [Fact]
    public void A_prediction_engine_over_the_loaded_model_predicts_what_one_over_the_original_predicts()
    {
        var original = fixture.Context.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(fixture.Model);
        var loaded = fixture.Context.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(fixture.Loaded);
        var inputs = fixture.Context.Data.CreateEnumerable<ImageInput>(fixture.Test, reuseRowObject: false).ToList();
        Assert.NotEmpty(inputs);
        foreach (var input in inputs)
        {
            var expected = original.Predict(input);
            var actual = loaded.Predict(input);
            Assert.Equal(expected.Score, actual.Score);
            Assert.Equal(expected.PredictedLabel, actual.PredictedLabel);
        }
    }

    [Fact]
    public void The_image_transforms_store_their_options_by_name_and_the_folder_as_given()
    {
        var load = JsonNode.Parse(ModelFileSupport.ReadEntry(fixture.Path, "model/1/options.json"))!;
        Assert.Equal("Grayscale", (string)load["color"]!);
        Assert.Null(load["imageFolder"]);
        Assert.Equal("Bilinear", (string)JsonNode.Parse(ModelFileSupport.ReadEntry(fixture.Path, "model/2/options.json"))!["interpolation"]!);
        var pixels = JsonNode.Parse(ModelFileSupport.ReadEntry(fixture.Path, "model/3/options.json"))!;
        Assert.Equal(new[] { 0.5 }, pixels["mean"]!.AsArray().Select(v => (double)v!));
        Assert.Equal(new[] { 0.25 }, pixels["std"]!.AsArray().Select(v => (double)v!));

        // A relative folder is kept as written (it is resolved against the current directory when images are read).
        var context = new MLNormContext(1);
        var relative = context.Transforms.LoadImages("Image", Path.Combine("some", "images"), "ImagePath").Fit(fixture.Train);
        var path = Path.Combine(fixture.Folder.Path, $"load-{Guid.NewGuid():N}.zip");
        context.Model.Save(relative, fixture.Train.Schema, path);
        Assert.Equal(Path.Combine("some", "images"), (string)JsonNode.Parse(ModelFileSupport.ReadEntry(path, "model/options.json"))!["imageFolder"]!);
        Assert.IsType<ImageLoadingTransformer>(context.Model.Load(path, out _));
    }

    [Fact]
    public void An_unknown_color_mode_is_refused_as_damage_naming_the_entry()
    {
        var path = fixture.Copy();
        var options = Encoding.UTF8.GetString(ModelFileSupport.ReadEntry(path, "model/1/options.json")).Replace("\"Grayscale\"", "\"Purple\"");
        ModelFileSupport.RewriteEntry(path, "model/1/options.json", Encoding.UTF8.GetBytes(options), fixManifest: true);
        var error = Assert.Throws<InvalidDataException>(() => fixture.Context.Model.Load(path, out _));
        Assert.StartsWith($"{path} is damaged: entry model/1/options.json of the LoadImages transformer holds the unknown ImageColorMode 'Purple'", error.Message);
    }

    [Fact]
    public void Altered_weights_are_refused_by_their_checksum()
    {
        var path = fixture.Copy();
        var weights = ModelFileSupport.ReadEntry(path, WeightsEntry);
        weights[^1] ^= 0x01;   // the lowest bit of the last weight's last byte
        ModelFileSupport.RewriteEntry(path, WeightsEntry, weights, fixManifest: false);
        var error = Assert.Throws<InvalidDataException>(() => fixture.Context.Model.Load(path, out _));
        Assert.Equal($"{path} was altered: entry {WeightsEntry} does not match its checksum.", error.Message);
    }

    [Fact]
    public void A_class_count_that_disagrees_with_the_label_key_values_is_damage()
    {
        var path = fixture.Copy();
        var json = JsonNode.Parse(ModelFileSupport.ReadEntry(path, ClassifierEntry))!;
        json["classCount"] = 4;
        ModelFileSupport.RewriteEntry(path, ClassifierEntry, Encoding.UTF8.GetBytes(json.ToJsonString()), fixManifest: true);
        var error = Assert.Throws<InvalidDataException>(() => fixture.Context.Model.Load(path, out _));
        Assert.Equal($"{path} is damaged: entry {ClassifierEntry} of the ImageClassifierWithNorm transformer holds 4 classes but 3 label key values.", error.Message);
    }

    [Fact]
    public void Weights_that_do_not_fit_the_described_network_are_damage_naming_the_weights()
    {
        // Valid JSON, re-hashed, describing another network: BN layers have no mode gates, so the saved weights do not fit.
        var path = fixture.Copy();
        var json = JsonNode.Parse(ModelFileSupport.ReadEntry(path, ClassifierEntry))!;
        json["normalizer"] = "bn";
        ModelFileSupport.RewriteEntry(path, ClassifierEntry, Encoding.UTF8.GetBytes(json.ToJsonString()), fixManifest: true);
        var error = Assert.Throws<InvalidDataException>(() => fixture.Context.Model.Load(path, out _));
        Assert.StartsWith($"{path} is damaged: entry {WeightsEntry} of the ImageClassifierWithNorm transformer does not fit the network classifier.json describes:", error.Message);
        Assert.Contains("unexpected [", error.Message);
    }
}
