using MLNetNormalization.Data;
using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Binding;
using MLNetNormalization.Tests.DataViews;
using MLNetNormalization.Trainers.ImageClassification;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>Input rows for prediction: the columns LoadImagesFromDirectory gives.</summary>
public sealed class ImageInput
{
    public string ImagePath { get; set; } = "";
    public string Label { get; set; } = "";
}

/// <summary>The classifier's raw outputs.</summary>
public sealed class ImagePrediction
{
    public float[] Score { get; set; } = [];
    public uint PredictedLabel { get; set; }
}

/// <summary>The predicted class name, after MapKeyToValue.</summary>
public sealed class NamedPrediction
{
    public string PredictedClass { get; set; } = "";
}

[Collection(TestCollections.GlobalRandom)]
public sealed class PipelineTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    [Fact]
    public void The_fitted_pipeline_classifies_held_out_images_well_above_chance()
    {
        var metrics = fixture.Context.MulticlassClassification.Evaluate(fixture.Scored);
        Assert.Equal(15, metrics.Count);   // 5 of each class's 20, stratified
        Assert.True(metrics.MicroAccuracy >= 0.8, $"accuracy {metrics.MicroAccuracy} (chance is 1/3)");
        Assert.True(fixture.Progress > 0, "the metrics callback was never called");

        // Oracle: accuracy counted directly from the scored rows (argmax of Score against the label key).
        var labels = DataTestSupport.ReadColumn<uint>(fixture.Scored, "Label");
        var scores = DataTestSupport.ReadColumn<float[]>(fixture.Scored, "Score");
        var predicted = DataTestSupport.ReadColumn<uint>(fixture.Scored, "PredictedLabel");
        for (var i = 0; i < scores.Count; i++)
        {
            Assert.Equal(1.0, scores[i].Sum(), 4);
            Assert.Equal((uint)(Array.IndexOf(scores[i], scores[i].Max()) + 1), predicted[i]);
        }
        Assert.Equal(labels.Zip(predicted).Count(p => p.First == p.Second) / 15.0, metrics.MicroAccuracy, 12);
    }

    [Fact]
    public void PredictedLabel_carries_the_class_names_so_MapKeyToValue_turns_it_into_text()
    {
        var named = fixture.Context.Transforms.Conversion.MapKeyToValue("PredictedClass", "PredictedLabel").Fit(fixture.Scored).Transform(fixture.Scored);
        var classes = DataTestSupport.ReadColumn<string>(named, "PredictedClass");
        var keys = DataTestSupport.ReadColumn<uint>(named, "PredictedLabel");
        string[] keyValues = [];
        fixture.Scored.Schema["Label"].GetKeyValues(ref keyValues);
        Assert.Equal(keys.Select(k => keyValues[k - 1]), classes);
        Assert.Equal(keyValues, fixture.Classifier.ClassNames);
    }

    [Fact]
    public void The_prediction_engine_gives_each_row_what_the_transformed_view_gives()
    {
        var engine = fixture.Context.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(fixture.Model);
        var inputs = fixture.Context.Data.CreateEnumerable<ImageInput>(fixture.Test, reuseRowObject: false).ToList();
        var scores = DataTestSupport.ReadColumn<float[]>(fixture.Scored, "Score");
        var predicted = DataTestSupport.ReadColumn<uint>(fixture.Scored, "PredictedLabel");
        Assert.Equal(15, inputs.Count);
        for (var i = 0; i < inputs.Count; i++)
        {
            var prediction = engine.Predict(inputs[i]);
            Assert.Equal(predicted[i], prediction.PredictedLabel);
            // A batch of one and a batch of 15 go through the same eval-mode network; only float rounding may differ.
            Assert.Equal(scores[i].Length, prediction.Score.Length);
            for (var c = 0; c < scores[i].Length; c++) Assert.Equal(scores[i][c], prediction.Score[c], 5);
        }
    }

    [Fact]
    public void A_prediction_engine_over_the_model_and_MapKeyToValue_gives_class_names()
    {
        var named = fixture.Model.Append(fixture.Context.Transforms.Conversion.MapKeyToValue("PredictedClass", "PredictedLabel").Fit(fixture.Scored));
        var engine = fixture.Context.Model.CreatePredictionEngine<ImageInput, NamedPrediction>(named);
        var inputs = fixture.Context.Data.CreateEnumerable<ImageInput>(fixture.Test, reuseRowObject: false).ToList();
        var predicted = DataTestSupport.ReadColumn<uint>(fixture.Scored, "PredictedLabel");
        Assert.Equal(predicted.Select(k => fixture.Classifier.ClassNames[(int)k - 1]), inputs.Select(i => engine.Predict(i).PredictedClass));
        // An output member with no column of its name is refused when the engine is made, naming it.
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => fixture.Context.Model.CreatePredictionEngine<ImageInput, NamedPrediction>(fixture.Model));
        Assert.Contains("'PredictedClass'", error.Message);
    }

    [Fact]
    public void Predict_from_several_threads_at_once_equals_the_single_threaded_predictions()
    {
        var inputs = fixture.Context.Data.CreateEnumerable<ImageInput>(fixture.Test, reuseRowObject: false).ToList();
        var expected = fixture.Context.Model.Predict<ImageInput, ImagePrediction>(fixture.Model, inputs);
        var results = new IReadOnlyList<ImagePrediction>[8];
        // The same examples give the same batches, so the predictions must be bit-identical to the single-threaded ones.
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 },
            t => results[t] = fixture.Context.Model.Predict<ImageInput, ImagePrediction>(fixture.Model, inputs));
        foreach (var result in results)
        {
            Assert.Equal(expected.Select(p => p.PredictedLabel), result.Select(p => p.PredictedLabel));
            Assert.Equal(expected.Select(p => p.Score), result.Select(p => p.Score));
        }
        // And in row order: the batch predictions are the transformed view's rows.
        Assert.Equal(DataTestSupport.ReadColumn<uint>(fixture.Scored, "PredictedLabel"), expected.Select(p => p.PredictedLabel));
    }

    [Fact]
    public void WithInferenceAlpha_returns_a_new_model_and_leaves_the_original_as_it_was()
    {
        var before = DataTestSupport.ReadColumn<float[]>(fixture.Scored, "Score");
        using var perExample = fixture.Classifier.WithInferenceAlpha(1);
        var after = DataTestSupport.ReadColumn<float[]>(fixture.Scored, "Score");
        var changed = DataTestSupport.ReadColumn<float[]>(perExample.Transform(fixture.Model.Take(4).Aggregate(fixture.Test, (d, t) => t.Transform(d))), "Score");
        Assert.Equal(before, after);
        Assert.Null(fixture.Classifier.InferenceAlpha);
        Assert.Equal(1, perExample.InferenceAlpha);
        Assert.All(NormalizationModel.Layers(perExample.Model).Where(l => l.Layer.HasRunningStatistics), l => Assert.Equal(1, l.Layer.Alpha));
        // Alpha 1 normalizes each example by its own statistics instead of the running ones: other probabilities.
        Assert.NotEqual(before.SelectMany(s => s), changed.SelectMany(s => s));
    }

    [Fact]
    public void TuneInferenceAlpha_gives_one_entry_per_alpha_in_order_and_alpha_0_is_the_trained_model()
    {
        var prepared = fixture.Model.Take(4).Aggregate(fixture.Test, (d, t) => t.Transform(d));
        var tuned = fixture.Context.MulticlassClassification.TuneInferenceAlpha(fixture.Classifier, prepared, [0, 0.5, 1]);
        Assert.Equal([0, 0.5, 1], tuned.Select(t => t.Alpha));
        // BN's own inference alpha is 0 (running statistics), so alpha 0 must reproduce the trained model's metrics.
        var trained = fixture.Context.MulticlassClassification.Evaluate(fixture.Scored);
        Assert.Equal(trained.LogLoss, tuned[0].Metrics.LogLoss, 5);
        Assert.NotEqual(tuned[0].Metrics.LogLoss, tuned[2].Metrics.LogLoss);
        Assert.Null(fixture.Classifier.InferenceAlpha);
    }

    [Fact]
    public void A_label_that_is_not_a_key_is_refused_naming_the_column()
    {
        var context = new MLNormContext(1);
        var unkeyed = context.Transforms.LoadImages("Image", null, "ImagePath", TorchBinding.Imaging.ImageColorMode.Grayscale)
            .Append(context.Transforms.ResizeImages("Image", 16, 16)).Append(context.Transforms.ExtractPixels("Features", "Image"))
            .Append(context.MulticlassClassification.Trainers.ImageClassifierWithNorm(Callback(PipelineFixture.SmallOptions(), out var calls)));
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => unkeyed.Fit(fixture.Train));
        Assert.Contains("'Label'", error.Message);
        Assert.Contains("MapValueToKey", error.Message);
        Assert.Equal(0, calls());
    }

    [Fact]
    public void A_missing_label_column_is_refused_naming_it()
    {
        var options = Callback(PipelineFixture.SmallOptions(), out var calls);
        options.LabelColumnName = "Category";
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Fit(options));
        Assert.Contains("'Category'", error.Message);
        Assert.Equal(0, calls());
    }

    [Fact]
    public void Features_that_are_not_a_sized_single_vector_are_refused_naming_the_column()
    {
        var options = Callback(PipelineFixture.SmallOptions(), out var calls);
        options.FeatureColumnName = "Image";   // the image column itself, not its pixels
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Fit(options));
        Assert.Contains("'Image'", error.Message);
        Assert.Contains("ExtractPixels", error.Message);
        Assert.Equal(0, calls());
    }

    [Fact]
    public void The_model_refuses_features_of_another_shape_naming_the_column()
    {
        var context = new MLNormContext(1);
        var other = context.Transforms.Conversion.MapValueToKey("Label")
            .Append(context.Transforms.LoadImages("Image", null, "ImagePath", TorchBinding.Imaging.ImageColorMode.Grayscale))
            .Append(context.Transforms.ResizeImages("Image", 18, 18)).Append(context.Transforms.ExtractPixels("Features", "Image"));
        var data = other.Fit(fixture.Test).Transform(fixture.Test);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => fixture.Classifier.Transform(data));
        Assert.Contains("'Features'", error.Message);
        Assert.Contains("16x16", error.Message);
    }

    [Theory]
    [InlineData("Modes")]
    [InlineData("GhostBatchSize")]
    [InlineData("Groups")]
    [InlineData("ValidationSet")]
    public void Invalid_options_are_refused_by_Fit_before_any_training(string option)
    {
        using var workspace = new TempFolder();
        var options = Callback(PipelineFixture.SmallOptions(), out var calls);
        options.WorkspacePath = workspace.Path;
        switch (option)
        {
            case "Modes": (options.Normalizer, options.Modes) = (NormalizerKind.ModeNorm, 0); break;
            case "GhostBatchSize": (options.Normalizer, options.GhostBatchSize) = (NormalizerKind.GhostBatchNorm, 16); break;   // BatchSize is 15
            case "Groups": (options.Normalizer, options.Groups) = (NormalizerKind.GroupNorm, 7); break;   // LeNet's layers have 6 and 16 channels
            default: (options.ValidationSet, options.ValidationFraction) = (fixture.Test, 0.2); break;
        }
        var error = Assert.Throws<ArgumentException>(() => Fit(options));
        Assert.Contains($"ImageClassifierWithNormOptions.{option}", error.Message);
        Assert.Equal(0, calls());
        Assert.Empty(Directory.EnumerateFileSystemEntries(workspace.Path));
    }

    [Fact]
    public void The_options_are_copied_when_the_trainer_is_made()
    {
        var context = new MLNormContext(1);
        var options = Callback(PipelineFixture.SmallOptions(), out var calls);
        options.Modes = 0;
        var trainer = context.MulticlassClassification.Trainers.ImageClassifierWithNorm(options);
        options.Modes = 2;   // too late: the trainer holds its own copy, with Modes 0
        var prepared = PipelineFixture.Preparation(context).Fit(fixture.Train).Transform(fixture.Train);
        Assert.Throws<ArgumentException>(() => trainer.Fit(prepared));
        Assert.Equal(0, calls());
    }

    [Fact]
    public void A_label_key_0_is_refused_naming_the_row()
    {
        var context = new MLNormContext(1);
        // Keys learned without the class "vertical": its rows get key 0, missing.
        var known = context.Transforms.Conversion.MapValueToKey("Label").Fit(Filter(context, fixture.Train, "vertical"));
        var images = context.Transforms.LoadImages("Image", null, "ImagePath", TorchBinding.Imaging.ImageColorMode.Grayscale)
            .Append(context.Transforms.ResizeImages("Image", 16, 16)).Append(context.Transforms.ExtractPixels("Features", "Image"));
        var keyed = known.Transform(fixture.Train);
        var prepared = images.Fit(keyed).Transform(keyed);
        var labels = DataTestSupport.ReadColumn<uint>(prepared, "Label");
        var firstMissing = labels.IndexOf(0) + 1;
        Assert.True(firstMissing > 0);
        var error = Assert.Throws<InvalidDataException>(() => context.MulticlassClassification.Trainers.ImageClassifierWithNorm(PipelineFixture.SmallOptions()).Fit(prepared));
        Assert.Contains($"row {firstMissing} ", error.Message);
        Assert.Contains("'Label'", error.Message);
    }

    [Fact]
    public void The_same_context_seed_trains_the_same_model()
    {
        var context = new MLNormContext(PipelineFixture.Seed);
        var split = context.Data.TrainTestSplit(context.Data.LoadImagesFromDirectory(fixture.Folder.Path), testFraction: 0.25,
            seed: PipelineFixture.Seed, stratificationColumnName: "Label");
        var model = PipelineFixture.Preparation(context)
            .Append(context.MulticlassClassification.Trainers.ImageClassifierWithNorm(PipelineFixture.SmallOptions())).Fit(split.TrainSet);
        try
        {
            Assert.Equal(DataTestSupport.ReadColumn<float[]>(fixture.Scored, "Score"), DataTestSupport.ReadColumn<float[]>(model.Transform(split.TestSet), "Score"));
        }
        finally
        {
            model.LastTransformer!.Dispose();
        }
    }

    [Fact]
    public void The_pipeline_shape_names_the_output_columns_and_refuses_an_unkeyed_label()
    {
        var shape = fixture.Pipeline.GetOutputSchema(SchemaShape.Create(fixture.Train.Schema));
        Assert.True(shape.TryFindColumn("Score", out var score) && score.Kind == SchemaShape.Column.VectorKind.Vector);
        Assert.True(shape.TryFindColumn("PredictedLabel", out var predicted) && predicted.IsKey);
        var trainer = fixture.Context.MulticlassClassification.Trainers.ImageClassifierWithNorm();
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.GetOutputSchema(SchemaShape.Create(fixture.Train.Schema)));
        Assert.Contains("'Label'", error.Message);
    }

    [Theory]
    [InlineData(false, 15)]   // the prepared test set: 15 rows
    [InlineData(true, 9)]     // ValidationFraction 0.2 of the 45 training rows
    public void Validation_data_come_from_the_ValidationSet_or_the_ValidationFraction(bool fraction, int expectedExamples)
    {
        var context = new MLNormContext(1);
        var preparation = PipelineFixture.Preparation(context).Fit(fixture.Train);
        var options = PipelineFixture.SmallOptions();
        options.Epochs = 1;
        if (fraction) options.ValidationFraction = 0.2;
        else options.ValidationSet = preparation.Transform(fixture.Test);
        var sizes = new List<int>();
        options.MetricsCallback = p => { if (p.Validation is { } v) sizes.Add(v.Count); };
        using var model = context.MulticlassClassification.Trainers.ImageClassifierWithNorm(options).Fit(preparation.Transform(fixture.Train));
        Assert.Equal([expectedExamples], sizes);
    }

    private static IDataView Filter(MLNormContext context, IDataView data, string without) =>
        context.Data.LoadFromEnumerable(context.Data.CreateEnumerable<ImageInput>(data, reuseRowObject: false).Where(r => r.Label != without).ToList());

    private void Fit(ImageClassifierWithNormOptions options)
    {
        var context = new MLNormContext(1);
        PipelineFixture.Preparation(context).Append(context.MulticlassClassification.Trainers.ImageClassifierWithNorm(options)).Fit(fixture.Train);
    }

    private static ImageClassifierWithNormOptions Callback(ImageClassifierWithNormOptions options, out Func<int> calls)
    {
        var count = 0;
        options.MetricsCallback = _ => count++;
        calls = () => count;
        return options;
    }
}
