using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace MLNetNormalization.Samples.FashionMnistTraining;

/// <summary>
/// The main job's data and pipeline. bench/MainJobBench compiles this file in, so that it times what the sample runs.
/// </summary>
internal static class FashionMnistJob
{
    /// <summary>
    /// Fashion-MNIST's training and test images as ML.NET views of the IDX files: Label (the class name) and Features
    /// (Vector&lt;Single, 1, 28, 28&gt;), standardized by the training set's mean and std as ExtractPixels would with the
    /// same offset and scale; only the first <paramref name="trainImages"/> training images when given.
    /// </summary>
    /// <exception cref="FileNotFoundException">The files are not in <paramref name="directory"/>; the message says how to install them.</exception>
    public static (IDataView Train, IDataView Test) Load(MLContext ml, string directory, int? trainImages)
    {
        var train = FashionMnistData.LoadTrain(ml, directory, FashionMnistData.StandardizingOffset, FashionMnistData.StandardizingScale);
        var test = FashionMnistData.LoadTest(ml, directory, FashionMnistData.StandardizingOffset, FashionMnistData.StandardizingScale);
        return (trainImages is { } count ? ml.Data.TakeRows(train, count) : train, test);
    }

    /// <summary>
    /// ML.NET's multiclass pipeline around the classifier: class names to keys, the classifier (Score, PredictedLabel),
    /// and the predicted key back to its class name.
    /// </summary>
    public static EstimatorChain<KeyToValueMappingTransformer> Pipeline(MLContext ml, ImageClassifierWithNormOptions options) =>
        ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(options))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

    /// <summary>
    /// Saves the fitted pipeline with the schema of the data it takes, into a temporary file renamed into place, so that a
    /// run killed while saving leaves no half-written zip under the model's name.
    /// </summary>
    public static void Save(MLContext ml, ITransformer model, DataViewSchema inputSchema, string path)
    {
        var temporary = path + ".tmp";
        using (var file = File.Create(temporary))
            ml.Model.Save(model, inputSchema, file);
        File.Move(temporary, path, overwrite: true);
    }
}
