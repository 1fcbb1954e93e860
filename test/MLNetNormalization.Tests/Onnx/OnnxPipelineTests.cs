using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetNormalization.Tests.Pipeline;
using Onnx;

namespace MLNetNormalization.Tests.Onnx;

/// <summary>
/// The exported classifier in ML.NET: the fitted pipeline of <see cref="PipelineFixture"/> converted by ML.NET's own
/// ml.Model.ConvertToOnnx, and the classifier exported by ours, each scored with ml.Transforms.ApplyOnnxModel against the
/// TorchSharp model's Score and PredictedLabel.
/// </summary>
[Collection(PipelineCollection.Name)]
public class OnnxPipelineTests(PipelineFixture fixture)
{
    [Fact]
    public void ConvertToOnnxWritesTheNetworkAndScoresAsTheModel()
    {
        var ml = fixture.Context;
        using var file = new MemoryStream();
        ml.Model.ConvertToOnnx(fixture.Model, fixture.Test, file);
        var bytes = file.ToArray();

        // Not an identity graph: the network's nodes are there and Score and PredictedLabel are computed, not taken as inputs.
        var graph = ModelProto.Parser.ParseFrom(bytes).Graph;
        var ops = graph.Node.Select(n => n.OpType).ToList();
        Assert.Equal(2, ops.Count(op => op == "Conv"));
        Assert.Contains("Gemm", ops);
        Assert.Contains("LabelEncoder", ops);
        Assert.DoesNotContain(graph.Input, i => i.Name is "Score" or "PredictedLabel");
        Assert.Contains(graph.Node, n => n.OpType == "Softmax" && n.Output.Single() == "Score");

        var onnx = ml.Transforms.ApplyOnnxModel(["Score.output", "PredictedLabel.output"], ["Label", "Features"], bytes.AsStreamForTest()).Fit(fixture.Test).Transform(fixture.Test);
        var expectedScore = fixture.Scored.GetColumn<float[]>("Score").ToList();
        var expectedLabel = fixture.Scored.GetColumn<string>("PredictedLabel").ToList();
        // ApplyOnnxModel names the columns of the converter's "<column>.output" values after the column.
        var actualScore = onnx.GetColumn<float[]>("Score").ToList();
        var actualLabel = onnx.GetColumn<string[]>("PredictedLabel").Select(l => l.Single()).ToList();
        AssertSameScores(expectedScore, actualScore);
        Assert.Equal(expectedLabel, actualLabel);
    }

    [Theory]
    [InlineData("mn:k=2")]
    [InlineData("gn:g=2")]
    [InlineData("sn")]
    [InlineData("bn:alpha=0.5")]
    [InlineData("mgn:k=2,alpha=0.3")]
    public void ConvertToOnnxWritesNormalizersThatDependOnTheExample(string normalizer)
    {
        // The fixture's classifier with another normalizer, freshly initialized (training would add nothing to the check).
        var ml = fixture.Context;
        var description = fixture.Classifier.Description with { Plan = new Backbones.NormalizerPlan(normalizer), InferenceAlpha = null };
        using var model = new ImageClassificationTransformer(description.NewNetwork(), description);
        var keyed = fixture.KeyedTest;
        using var file = new MemoryStream();
        ml.Model.ConvertToOnnx(model, keyed, file);

        // The converter walks back through MapValueToKey: the graph takes the text label too.
        var onnx = ml.Transforms.ApplyOnnxModel(["Score.output"], ["Label", "Features"], file.ToArray().AsStreamForTest()).Fit(fixture.Test).Transform(fixture.Test);
        AssertSameScores(model.Transform(keyed).GetColumn<float[]>("Score").ToList(), onnx.GetColumn<float[]>("Score").ToList());
    }

    [Fact]
    public void OurExportScoresThroughApplyOnnxModelAsTheModel()
    {
        var ml = fixture.Context;
        using var file = new MemoryStream();
        ml.Model.ExportImageClassifierToOnnx(fixture.Model, file);

        var onnx = ml.Transforms.ApplyOnnxModel([OnnxExport.ScoreName, OnnxExport.PredictedLabelName], [OnnxExport.FeaturesName], file.ToArray().AsStreamForTest())
            .Fit(fixture.Test).Transform(fixture.Test);
        var expectedScore = fixture.Scored.GetColumn<float[]>("Score").ToList();
        AssertSameScores(expectedScore, onnx.GetColumn<float[]>(OnnxExport.ScoreName).ToList());
        var names = fixture.Classifier.ClassNames;
        Assert.Equal(fixture.Scored.GetColumn<string>("PredictedLabel"), onnx.GetColumn<long[]>(OnnxExport.PredictedLabelName).Select(i => names[(int)i.Single()]));
    }

    [Fact]
    public void ConvertToOnnxOnEncodedImagesNamesOurExport()
    {
        // The converter reaches the classifier before anything else can fail, so the features' kind is all that matters here.
        var ml = fixture.Context;
        var rows = ml.Data.LoadFromEnumerable([new EncodedRow { Label = "a", Features = [1, 2, 3] }]);
        var description = fixture.Classifier.Description with { FeatureKind = FeatureKind.EncodedImages };
        using var model = new ImageClassificationTransformer(description.NewNetwork(), description);
        var error = Assert.Throws<InvalidOperationException>(() => ml.Model.ConvertToOnnx(model, rows, new MemoryStream()));
        Assert.Contains("ml.Model.ExportImageClassifierToOnnx(model, stream)", error.Message, StringComparison.Ordinal);
    }

    private static void AssertSameScores(IReadOnlyList<float[]> expected, IReadOnlyList<float[]> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var row = 0; row < expected.Count; row++)
            for (var c = 0; c < expected[row].Length; c++)
                Assert.True(Math.Abs(expected[row][c] - actual[row][c]) <= 1e-4, $"row {row} class {c}: TorchSharp {expected[row][c]:R}, ONNX {actual[row][c]:R}");
    }

    private sealed class EncodedRow
    {
        public string Label { get; set; } = "";
        public byte[] Features { get; set; } = [];
    }
}

internal static class StreamExtensions
{
    /// <summary>A file ApplyOnnxModel can read: it takes a path or a stream, and keeps the stream's bytes.</summary>
    public static Stream AsStreamForTest(this byte[] bytes) => new MemoryStream(bytes, writable: false);
}
