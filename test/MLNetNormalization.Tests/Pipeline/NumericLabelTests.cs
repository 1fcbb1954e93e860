using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>A label of numbers rather than text: its values, and their type, survive training, saving and loading.</summary>
[Collection(PipelineCollection.Name)]
public sealed class NumericLabelTests(PipelineFixture fixture)
{
    private static readonly float[] Labels = [2.5f, -1f, 7f];

    [Fact]
    public void A_float_label_mapped_to_keys_comes_back_as_floats_from_a_saved_and_loaded_model()
    {
        var ml = new MLContext(seed: 3);
        var train = ml.Data.LoadFromEnumerable(SyntheticImages.NumericRows(32, seed: 11, Labels));
        var test = ml.Data.LoadFromEnumerable(SyntheticImages.NumericRows(5, seed: 12, Labels));
        var options = PipelineFixture.SmallOptions();
        options.Epochs = 1;
        var model = PipelineFixture.MakePipeline(ml, options).Fit(train);
        var path = fixture.Folder.File($"numeric-{Guid.NewGuid():N}.zip");
        ml.Model.Save(model, train.Schema, path);
        var loaded = new MLContext().Model.Load(path, out _);
        try
        {
            var scored = loaded.Transform(test);
            Assert.Equal(NumberDataViewType.Single, scored.Schema["PredictedLabel"].Type);
            VBuffer<ReadOnlyMemory<char>> slotNames = default;
            scored.Schema["Score"].GetSlotNames(ref slotNames);
            Assert.Equal(["2.5", "-1", "7"], slotNames.DenseValues().Select(n => n.ToString()));
            // MapKeyToValue gives the float of the most probable class, the key values being the labels in order of appearance.
            var expected = Columns.Vectors(scored).Select(s => Labels[Array.IndexOf(s, s.Max())]);
            Assert.Equal(expected, Columns.Singles(scored, "PredictedLabel"));
            Assert.Equal(Columns.Singles(model.Transform(test), "PredictedLabel"), Columns.Singles(scored, "PredictedLabel"));
            Assert.Equal(Columns.Bits(Columns.Vectors(model.Transform(test))), Columns.Bits(Columns.Vectors(scored)));
        }
        finally
        {
            model.OfType<ImageClassificationTransformer>().Single().Dispose();
            ((IEnumerable<ITransformer>)loaded).OfType<IDisposable>().ToList().ForEach(d => d.Dispose());
        }
    }
}
