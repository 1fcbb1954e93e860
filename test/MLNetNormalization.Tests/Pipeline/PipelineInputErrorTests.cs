using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetNormalization.Tests.Support;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>Images whose features are a double vector: right shape, wrong type.</summary>
public sealed class DoubleImageRow
{
    public string Label { get; set; } = "";

    [VectorType(1, SyntheticImages.Side, SyntheticImages.Side)]
    public double[] Features { get; set; } = [];
}

/// <summary>Images whose features carry no image dimensions (a plain vector of 256 values).</summary>
public sealed class FlatImageRow
{
    public string Label { get; set; } = "";

    [VectorType(SyntheticImages.Side * SyntheticImages.Side)]
    public float[] Features { get; set; } = [];
}

/// <summary>
/// Data the trainer or the model cannot use: each is refused with a message that names what is wrong and how to fix
/// it, before any training (the MetricsCallback is never called).
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class PipelineInputErrorTests(PipelineFixture fixture)
{
    private readonly MLContext ml = new(seed: 1);
    private int reports;

    [Fact]
    public void Training_data_of_one_class_is_refused_as_needing_at_least_two_classes()
    {
        var oneClass = Load(SyntheticImages.Rows(20, seed: 3, classes: ["horizontal"]));
        var error = Assert.Throws<ArgumentException>(() => PipelineFixture.MakePipeline(ml, Options()).Fit(oneClass));
        Assert.Contains("the label column 'Label' has 1 class", error.Message);
        Assert.Contains("at least two classes", error.Message);
        Assert.Equal(0, reports);
    }

    [Fact]
    public void Training_rows_all_of_one_class_are_refused_even_when_the_key_map_knows_more_naming_the_class()
    {
        // The key map was fitted on every class, so the label column has three keys; the rows use only one.
        var oneClass = fixture.KeyMap.Transform(Load(SyntheticImages.Rows(20, seed: 3, classes: ["vertical"])));
        var error = Assert.Throws<ArgumentException>(() => Trainer().Fit(oneClass));
        Assert.Contains("every row of the training data has the label 'vertical'", error.Message);
        Assert.Contains("at least two classes", error.Message);
        Assert.Equal(0, reports);
    }

    [Theory]
    [InlineData("text", true)]
    [InlineData("text", false)]
    [InlineData("float", true)]
    [InlineData("float", false)]
    public void A_label_that_is_not_a_key_is_refused_saying_to_add_MapValueToKey(string labelType, bool inAPipeline)
    {
        var data = labelType == "text"
            ? fixture.Train
            : ml.Data.LoadFromEnumerable(SyntheticImages.NumericRows(10, seed: 3, [0f, 1f, 2f]));
        // In a pipeline, EstimatorChain.Fit asks GetOutputSchema first; alone, Fit checks the view's schema itself.
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            if (inAPipeline) new EstimatorChain<ITransformer>().Append(Trainer()).Fit(data);
            else Trainer().Fit(data);
        });
        Assert.Contains("the label column 'Label'", error.Message);
        Assert.Contains(labelType == "text" ? "String" : "Single", error.Message);
        Assert.Contains("not a key column", error.Message);
        Assert.Contains("MapValueToKey(\"Label\")", error.Message);
        Assert.Equal(0, reports);
    }

    [Theory]
    [InlineData("label", true)]
    [InlineData("label", false)]
    [InlineData("features", true)]
    [InlineData("features", false)]
    public void A_missing_label_or_features_column_is_refused_at_Fit_and_at_GetOutputSchema_naming_it(string missing, bool atFit)
    {
        var options = Options();
        if (missing == "label") options.LabelColumnName = "Category";
        else options.FeatureColumnName = "Pixels";
        var keyed = fixture.KeyedTest;
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            if (atFit) ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(options).Fit(keyed);
            else ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(options).GetOutputSchema(MLNetInternals.ShapeOf(keyed.Schema));
        });
        Assert.Contains(missing == "label" ? "no column 'Category' (label" : "no column 'Pixels' (features", error.Message);
        Assert.Contains(missing == "label" ? "MapValueToKey" : "ExtractPixels", error.Message);
        Assert.Equal(0, reports);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Features_that_are_not_single_precision_are_refused_naming_the_column_and_ExtractPixels(bool atFit)
    {
        var rows = SyntheticImages.Rows(10, seed: 3).Select(r => new DoubleImageRow { Label = r.Label, Features = [.. r.Features.Select(v => (double)v)] });
        var data = fixture.KeyMap.Transform(ml.Data.LoadFromEnumerable(rows));
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            if (atFit) Trainer().Fit(data);
            else Trainer().GetOutputSchema(MLNetInternals.ShapeOf(data.Schema));
        });
        Assert.Contains("the features column 'Features'", error.Message);
        Assert.Contains("Double", error.Message);
        Assert.Contains("must be a Vector<Single>", error.Message);
        Assert.Contains("ExtractPixels", error.Message);
        Assert.Equal(0, reports);
    }

    [Fact]
    public void Features_without_image_dimensions_are_refused_unless_the_options_give_the_shape()
    {
        var rows = SyntheticImages.Rows(10, seed: 3).Select(r => new FlatImageRow { Label = r.Label, Features = r.Features });
        var data = fixture.KeyMap.Transform(ml.Data.LoadFromEnumerable(rows));
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Trainer().Fit(data));
        Assert.Contains("'Features' is Vector<Single, 256> with no image dimensions", error.Message);
        Assert.Contains("ImageChannels, ImageHeight and ImageWidth", error.Message);

        var options = Options();
        (options.ImageChannels, options.ImageHeight, options.ImageWidth) = (1, 15, 15);
        error = Assert.Throws<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(options).Fit(data));
        Assert.Contains("1x15x15 = 225 values, but the features column 'Features' has 256", error.Message);
        Assert.Equal(0, reports);
    }

    [Fact]
    public void A_validation_label_the_key_map_was_not_fitted_on_is_refused_naming_the_row_and_the_value()
    {
        // Row 5 (1-based) of the validation set is of a class the training data, and so the key map, never had.
        var validationRows = SyntheticImages.Rows(2, seed: 4);
        validationRows.Insert(4, SyntheticImages.Rows(1, seed: 5, classes: ["diagonal"])[0]);
        var options = Options();
        options.ValidationSet = fixture.KeyMap.Transform(Load(validationRows));
        var error = Assert.Throws<InvalidDataException>(() => ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(options).Fit(fixture.KeyedTest));
        Assert.Contains("row 5 of the ValidationSet has the label value 'diagonal' in column 'Label'", error.Message);
        Assert.Contains("MapValueToKey was fitted on data without it", error.Message);
        Assert.Equal(0, reports);
    }

    [Fact]
    public void A_training_label_the_key_map_was_not_fitted_on_is_refused_naming_the_row_and_the_value()
    {
        // A key map fitted without "vertical": in the interleaved rows, row 3 is the first of that class.
        var keyMap = ml.Transforms.Conversion.MapValueToKey("Label").Fit(Load(SyntheticImages.Rows(5, seed: 3, classes: ["checker", "horizontal"])));
        var keyed = keyMap.Transform(Load(SyntheticImages.Rows(5, seed: 4)));
        var error = Assert.Throws<InvalidDataException>(() => Trainer().Fit(keyed));
        Assert.Contains("row 3 of the training data has the label value 'vertical' in column 'Label'", error.Message);
        Assert.Contains("MapValueToKey was fitted on data without it", error.Message);
        Assert.Equal(0, reports);
    }

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "Infinity")]
    [InlineData(float.NegativeInfinity, "-Infinity")]
    public void A_non_finite_pixel_is_refused_before_training_naming_its_row_and_place(float value, string shown)
    {
        var rows = SyntheticImages.Rows(5, seed: 4);
        rows[6].Features[SyntheticImages.Side + 2] = value;   // row 7, y 1, x 2
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(Load(rows)).Transform(Load(rows));
        var error = Assert.Throws<InvalidDataException>(() => Trainer().Fit(keyed));
        Assert.Contains($"row 7 of the training data has {shown} in 'Features' at value {SyntheticImages.Side + 2} (channel 0, y 1, x 2)", error.Message);
        Assert.Contains("fix that image's pixels, or filter the row out", error.Message);
        Assert.Equal(0, reports);
    }

    [Fact]
    public void A_non_finite_pixel_in_scored_data_is_reported_with_its_row()
    {
        var rows = SyntheticImages.Rows(5, seed: 5);
        rows[9].Features[0] = float.NaN;
        var scored = fixture.Model.Transform(Load(rows));
        var error = Assert.Throws<InvalidDataException>(() => Columns.Vectors(scored));
        Assert.Contains("row 10 of the data being scored has NaN in 'Features' at value 0 (channel 0, y 0, x 0)", error.Message);
    }

    [Theory]
    [InlineData("Modes")]
    [InlineData("Groups")]
    [InlineData("ValidationSet")]
    public void Invalid_options_are_refused_by_Fit_before_any_training_or_checkpoint(string option)
    {
        using var workspace = new TempDirectory();
        var options = Options();
        options.WorkspacePath = workspace.Path;
        switch (option)
        {
            case "Modes": (options.NormalizerSpecification, options.Normalizer, options.Modes) = (null, NormalizerKind.ModeNorm, 0); break;
            // LeNet normalizes 20 and 50 channels; 7 divides neither.
            case "Groups": (options.NormalizerSpecification, options.Normalizer, options.Groups) = (null, NormalizerKind.GroupNorm, 7); break;
            default: (options.ValidationSet, options.ValidationFraction) = (fixture.KeyedTest, 0.2); break;
        }
        var error = Assert.Throws<ArgumentException>(() => PipelineFixture.MakePipeline(ml, options).Fit(fixture.Train));
        Assert.StartsWith($"ImageClassifierWithNormOptions.{option}: ", error.Message);
        Assert.Equal(0, reports);
        Assert.Empty(Directory.EnumerateFileSystemEntries(workspace.Path));
    }

    [Fact]
    public void The_trainer_keeps_the_options_it_was_made_with()
    {
        var options = Options();
        options.LabelColumnName = "Category";
        var trainer = ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(options);
        options.LabelColumnName = "Label";   // too late: the trainer holds its own copy
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(fixture.KeyedTest));
        Assert.Contains("no column 'Category'", error.Message);
        Assert.Equal(0, reports);
    }

    [Fact]
    public void An_empty_ValidationSet_is_refused_naming_it()
    {
        var options = Options();
        options.ValidationSet = fixture.KeyMap.Transform(Load([]));
        var error = Assert.Throws<ArgumentException>(() => ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(options).Fit(fixture.KeyedTest));
        Assert.Contains("ImageClassifierWithNormOptions.ValidationSet has no rows", error.Message);
        Assert.Equal(0, reports);
    }

    [Fact]
    public void A_ValidationFraction_that_holds_out_no_row_is_refused_naming_it()
    {
        var options = Options();
        options.ValidationFraction = 0.005;   // of 60 rows: 0.3, rounded to 0
        var error = Assert.Throws<ArgumentException>(() => ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(options).Fit(fixture.KeyedTest));
        Assert.Contains("ImageClassifierWithNormOptions.ValidationFraction: 0.005 of 60 examples leaves no validation", error.Message);
        Assert.Equal(0, reports);
    }

    [Fact]
    public void Empty_training_data_are_refused()
    {
        // Keys from the fixture's key map (three classes), so that it is the missing rows that are refused.
        var empty = fixture.KeyMap.Transform(Load([]));
        var error = Assert.Throws<ArgumentException>(() => Trainer().Fit(empty));
        Assert.Contains("the training data have no rows", error.Message);
        Assert.Equal(0, reports);
    }

    [Fact]
    public void The_trained_model_refuses_features_of_another_shape_naming_the_column_and_both_shapes()
    {
        var larger = ml.Data.LoadFromEnumerable(SyntheticImages.Rows(2, seed: 3, side: 20).Select(r => new ImageRow20 { Label = r.Label, Features = r.Features }));
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => fixture.Model.Transform(larger));
        Assert.Contains("the features column 'Features' is Vector<Single, 1, 20, 20>", error.Message);
        Assert.Contains("trained on Vector<Single, 1, 16, 16>", error.Message);
        Assert.Contains("ResizeImages to 16x16", error.Message);
    }

    /// <summary>Images of 20 x 20 pixels: another shape than the model's.</summary>
    public sealed class ImageRow20
    {
        public string Label { get; set; } = "";

        [VectorType(1, 20, 20)]
        public float[] Features { get; set; } = [];
    }

    private IDataView Load(List<ImageRow> rows) => ml.Data.LoadFromEnumerable(rows);

    private ImageClassificationEstimator Trainer() => ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(Options());

    // The fixture's options, counting the MetricsCallback's calls: any call means training started.
    private ImageClassifierWithNormOptions Options()
    {
        var options = PipelineFixture.SmallOptions();
        options.MetricsCallback = _ => reports++;
        return options;
    }
}
