using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>
/// The columns the classifier adds, compared with what ML.NET's own multiclass trainer (SdcaMaximumEntropy) adds in the
/// same place of the same pipeline: the oracle for what Evaluate, MapKeyToValue and other stock components expect.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class PipelineSchemaTests(PipelineFixture fixture)
{
    private static readonly string[] OutputColumns = ["Score", "PredictedLabel"];

    [Fact]
    public void GetOutputSchema_adds_Score_and_PredictedLabel_as_ML_NETs_own_multiclass_trainer_does()
    {
        var input = MLNetInternals.ShapeOf(fixture.Train.Schema);
        var keyed = fixture.Context.Transforms.Conversion.MapValueToKey("Label");
        // GetOutputSchema trains nothing, for either trainer.
        var ours = keyed.Append(fixture.Context.MulticlassClassification.Trainers.ImageClassifierWithNorm(PipelineFixture.SmallOptions())).GetOutputSchema(input);
        var stock = keyed.Append(fixture.Context.MulticlassClassification.Trainers.SdcaMaximumEntropy("Label", "Features")).GetOutputSchema(input);
        foreach (var name in OutputColumns)
        {
            Assert.Equal(Describe(stock.Column(name)), Describe(ours.Column(name)));
        }
        Assert.Equal(stock.Select(c => c.Name).Order(), ours.Select(c => c.Name).Order());

        // And the whole pipeline's shape, after MapKeyToValue turned PredictedLabel back into text.
        var oursWhole = fixture.Pipeline.GetOutputSchema(input);
        var stockWhole = keyed.Append(fixture.Context.MulticlassClassification.Trainers.SdcaMaximumEntropy("Label", "Features"))
            .Append(fixture.Context.Transforms.Conversion.MapKeyToValue("PredictedLabel")).GetOutputSchema(input);
        foreach (var name in OutputColumns)
        {
            Assert.Equal(Describe(stockWhole.Column(name)), Describe(oursWhole.Column(name)));
        }
    }

    [Fact]
    public void The_transformed_schema_has_the_types_and_annotations_of_ML_NETs_own_multiclass_trainer()
    {
        // The stock trainer fitted for one pass: only its output schema is used.
        var stockModel = fixture.Context.Transforms.Conversion.MapValueToKey("Label")
            .Append(fixture.Context.MulticlassClassification.Trainers.SdcaMaximumEntropy("Label", "Features", maximumNumberOfIterations: 1))
            .Fit(fixture.Train);
        var stockScored = stockModel.Transform(fixture.Test);
        var stock = stockScored.Schema;
        var ours = fixture.Classifier.Transform(fixture.KeyedTest).Schema;
        foreach (var name in OutputColumns)
        {
            var expected = stock[name];
            var actual = ours[name];
            Assert.Equal(expected.Type, actual.Type);
            Assert.Equal(expected.Annotations.Schema.Select(a => (a.Name, a.Type)).OrderBy(a => a.Name),
                actual.Annotations.Schema.Select(a => (a.Name, a.Type)).OrderBy(a => a.Name));
            foreach (var kind in new[] { "ScoreColumnKind", "ScoreValueKind" })
                Assert.Equal(Text(expected.Annotations, kind), Text(actual.Annotations, kind));
            Assert.Equal(SetId(expected.Annotations), SetId(actual.Annotations));
        }
        // The same visible columns (ML.NET's scorers put PredictedLabel before Score; the order matters to no consumer).
        Assert.Equal(stock.Where(c => !c.IsHidden).Select(c => c.Name).Order(), ours.Where(c => !c.IsHidden).Select(c => c.Name).Order());

        // A scorer after another one gets the next score set id, as ML.NET's own scorers number them.
        var stockSecond = stockModel.LastTransformer.Transform(stockScored).Schema;
        var oursSecond = fixture.Classifier.Transform(stockScored).Schema;
        foreach (var name in OutputColumns)
        {
            Assert.Equal(2u, SetId(stockSecond[name].Annotations));
            Assert.Equal(SetId(stockSecond[name].Annotations), SetId(oursSecond[name].Annotations));
        }
    }

    [Fact]
    public void SlotNames_are_the_class_names_and_PredictedLabel_carries_the_labels_KeyValues()
    {
        var keyed = fixture.KeyedTest;
        var scored = fixture.Classifier.Transform(keyed);
        VBuffer<ReadOnlyMemory<char>> labelKeys = default, slotNames = default, predictedKeys = default, trainingLabels = default;
        keyed.Schema["Label"].GetKeyValues(ref labelKeys);
        scored.Schema["Score"].GetSlotNames(ref slotNames);
        scored.Schema["Score"].Annotations.GetValue("TrainingLabelValues", ref trainingLabels);
        scored.Schema["PredictedLabel"].GetKeyValues(ref predictedKeys);

        Assert.Equal(SyntheticImages.Classes, Strings(labelKeys));
        Assert.Equal(SyntheticImages.Classes, Strings(slotNames));
        Assert.Equal(SyntheticImages.Classes, Strings(trainingLabels));
        Assert.Equal(Strings(labelKeys), Strings(predictedKeys));
        Assert.Equal(SyntheticImages.Classes, fixture.Classifier.ClassNames);
    }

    [Fact]
    public void MapKeyToValue_turns_PredictedLabel_into_the_class_strings()
    {
        var column = fixture.Scored.Schema["PredictedLabel"];
        Assert.Equal(TextDataViewType.Instance, column.Type);
        var keys = Columns.Keys(fixture.Classifier.Transform(fixture.KeyedTest), "PredictedLabel");
        Assert.Equal(keys.Select(k => SyntheticImages.Classes[k - 1]), Columns.Texts(fixture.Scored, "PredictedLabel"));
        // Not all the same class: the mapping is exercised for every key.
        Assert.Equal(SyntheticImages.Classes.Length, keys.Distinct().Count());
    }

    private static string[] Strings(VBuffer<ReadOnlyMemory<char>> values) => [.. values.DenseValues().Select(v => v.ToString())];

    private static string Text(DataViewSchema.Annotations annotations, string kind)
    {
        ReadOnlyMemory<char> value = default;
        annotations.GetValue(kind, ref value);
        return value.ToString();
    }

    private static uint SetId(DataViewSchema.Annotations annotations)
    {
        uint value = 0;
        annotations.GetValue("ScoreColumnSetId", ref value);
        return value;
    }

    // A column's shape and its annotations' shapes, by name, as text (so a difference shows in the message).
    private static string Describe(SchemaShape.Column column) =>
        $"{column.Kind} {column.ItemType} key={column.IsKey} annotations: " +
        string.Join("; ", column.Annotations.OrderBy(a => a.Name, StringComparer.Ordinal).Select(a => $"{a.Name} {a.Kind} {a.ItemType} key={a.IsKey}"));
}
