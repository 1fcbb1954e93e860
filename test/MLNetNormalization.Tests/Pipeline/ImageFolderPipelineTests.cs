using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Image;
using MLNetNormalization.Tests.MLNetData;
using MLNetNormalization.Data;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>
/// The pipeline a user writes, as the README shows it, on 2,000 Fashion-MNIST training images (200 per class) written
/// as PNG files by the test: ImageFolder.Load, TrainTestSplit, MapValueToKey, LoadImages, ResizeImages, ExtractPixels,
/// ImageClassifierWithNorm (LeNet, "mn:k=2"), MapKeyToValue; ML.NET's Evaluate, Save, a Load in a fresh process and a
/// prediction engine. The bad inputs a new user meets on that pipeline each get an error naming the column or file.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class ImageFolderPipelineTests(ImageFolderPipelineTests.FashionMnistPngs pngs) : IClassFixture<ImageFolderPipelineTests.FashionMnistPngs>
{
    /// <summary>The 2,000 PNG files, written once for the class.</summary>
    public sealed class FashionMnistPngs : IDisposable
    {
        public FashionMnistPngs() => ImageFolder.Save(Images, FashionMnist.LoadTrain(), perClass: 200);

        public ScratchFolder Folder { get; } = new();

        public string Images => Folder["images"];

        public void Dispose() => Folder.Dispose();
    }

    private readonly ScratchFolder _folder = pngs.Folder;
    private readonly string _images = pngs.Images;

    private EstimatorChain<KeyToValueMappingTransformer> Pipeline(MLContext ml, int epochs = 2, int side = 28, string featureColumn = "Features") =>
        ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", _images, "ImagePath"))
            .Append(ml.Transforms.ResizeImages("Image", side, side))
            .Append(ml.Transforms.ExtractPixels(featureColumn, "Image", ImagePixelExtractingEstimator.ColorBits.Red,
                offsetImage: FashionMnistData.StandardizingOffset, scaleImage: FashionMnistData.StandardizingScale))
            .Append(ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(new ImageClassifierWithNormOptions
                { Architecture = Architecture.LeNet, NormalizerSpecification = "mn:k=2", Epochs = epochs, LearningRate = 0.05 }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

    [Fact]
    public void The_README_pipeline_trains_evaluates_and_reloads_in_a_fresh_process_bit_for_bit()
    {
        var ml = new MLContext(seed: 1);
        var rows = ImageFolder.Load(ml, _images);
        var split = ml.Data.TrainTestSplit(rows, testFraction: 0.2, samplingKeyColumnName: null);
        var model = Pipeline(ml).Fit(split.TrainSet);
        var scored = model.Transform(split.TestSet);
        var metrics = ml.MulticlassClassification.Evaluate(scored);

        // The oracle: accuracy counted by hand from the Score column against the label's key.
        var scores = Columns.Vectors(scored);
        var keys = new List<uint>();
        using (var cursor = scored.GetRowCursor([scored.Schema["Label"]]))
        {
            var getKey = cursor.GetGetter<uint>(scored.Schema["Label"]);
            uint key = 0;
            while (cursor.MoveNext())
            {
                getKey(ref key);
                keys.Add(key);
            }
        }
        Assert.Equal(keys.Count, scores.Count);
        var correct = scores.Zip(keys, (s, k) => Array.IndexOf(s, s.Max()) + 1 == k).Count(c => c);
        Assert.Equal((double)correct / keys.Count, metrics.MicroAccuracy, 12);
        Assert.True(metrics.MicroAccuracy > 0.6, $"2 epochs on 1,600 images reached only {metrics.MicroAccuracy:P1} (chance: 10%)");

        var (modelPath, testRows) = AssertAFreshProcessLoadsItBitForBit(ml, model, split, "pixels");

        // The loaded model's prediction engine predicts each file as the batch did (the floats to rounding: a batch of
        // 64 and a single row may sum in another order in libtorch's kernels).
        var loaded = ml.Model.Load(modelPath, out _);
        var engine = ml.Model.CreatePredictionEngine<ImageFile, ImageFilePrediction>(loaded);
        var predicted = Columns.Texts(scored, "PredictedLabel");
        for (var i = 0; i < testRows.Count; i++)
        {
            var prediction = engine.Predict(testRows[i]);
            Assert.Equal(predicted[i], prediction.PredictedLabel);
            for (var c = 0; c < scores[i].Length; c++)
                Assert.True(Math.Abs(scores[i][c] - prediction.Score[c]) <= 1e-6 + 1e-5 * scores[i][c], $"row {i} class {c}: {scores[i][c]:R} vs {prediction.Score[c]:R}");
        }
    }

    [Fact]
    public void A_label_that_is_not_a_key_is_refused_naming_the_column_and_MapValueToKey()
    {
        var ml = new MLContext(seed: 1);
        var withoutKeys = ml.Transforms.LoadImages("Image", _images, "ImagePath")
            .Append(ml.Transforms.ResizeImages("Image", 28, 28))
            .Append(ml.Transforms.ExtractPixels("Features", "Image", ImagePixelExtractingEstimator.ColorBits.Red))
            .Append(ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(new ImageClassifierWithNormOptions { Architecture = Architecture.LeNet, Epochs = 1 }));
        var error = Assert.ThrowsAny<ArgumentException>(() => withoutKeys.Fit(ImageFolder.Load(ml, _images)));
        Assert.Contains("'Label'", error.Message);
        Assert.Contains("MapValueToKey(\"Label\")", error.Message);
    }

    [Fact]
    public void A_missing_features_column_is_refused_naming_it_and_ExtractPixels()
    {
        var ml = new MLContext(seed: 1);
        var error = Assert.ThrowsAny<ArgumentException>(() => Pipeline(ml, featureColumn: "Pixels").Fit(ImageFolder.Load(ml, _images)));
        Assert.Contains("no column 'Features'", error.Message);
        Assert.Contains("ExtractPixels", error.Message);
    }

    [Fact]
    public void Images_too_small_for_the_architecture_are_refused_naming_the_smallest_size()
    {
        var ml = new MLContext(seed: 1);
        var error = Assert.ThrowsAny<ArgumentException>(() => Pipeline(ml, side: 8).Fit(ImageFolder.Load(ml, _images)));
        Assert.Contains("Architecture", error.Message);
        Assert.Contains("16", error.Message);   // LeNet's smallest height and width
    }

    [Fact]
    public void A_corrupt_image_file_is_refused_naming_the_file()
    {
        var corrupt = Path.Combine(_images, "Bag", "corrupt.png");
        File.WriteAllBytes(corrupt, [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3]);
        try
        {
            var ml = new MLContext(seed: 1);
            var error = Assert.ThrowsAny<Exception>(() => Pipeline(ml, epochs: 1).Fit(ImageFolder.Load(ml, _images)));
            Assert.IsType<InvalidDataException>(error);
            Assert.Contains("ImagePath 'Bag/corrupt.png'", error.Message);
            Assert.Contains("Replace or remove that image", error.Message);
        }
        finally
        {
            File.Delete(corrupt);
        }
    }

    [Fact]
    public void Encoded_images_decode_to_the_pixels_that_were_written_over_255()
    {
        var train = FashionMnist.LoadTrain();
        var size = train.Shape.ElementCount;
        var files = Directory.EnumerateFiles(_images, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Take(20).ToList();
        Assert.Equal(20, files.Count);
        var decoded = new float[size];
        foreach (var file in files)
        {
            // ImageFolder.Save names each file by its index in the data set.
            var index = int.Parse(Path.GetFileNameWithoutExtension(file), System.Globalization.CultureInfo.InvariantCulture);
            ImageFeatures.Decode(File.ReadAllBytes(file), train.Shape, decoded, () => file);
            Assert.Equal(train.Pixels.AsSpan(index * size, size).ToArray().Select(p => p / 255f), decoded);
        }
    }

    [Fact]
    public void A_pipeline_on_LoadRawImageBytes_trains_and_reloads_in_a_fresh_process_bit_for_bit()
    {
        var ml = new MLContext(seed: 2);
        var split = ml.Data.TrainTestSplit(ImageFolder.Load(ml, _images), testFraction: 0.2, samplingKeyColumnName: null);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadRawImageBytes("Features", _images, "ImagePath"))
            .Append(ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(new ImageClassifierWithNormOptions
            {
                Architecture = Architecture.LeNet, Epochs = 2, LearningRate = 0.05, ImageChannels = 1, ImageHeight = 28, ImageWidth = 28,
            }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var model = pipeline.Fit(split.TrainSet);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(split.TestSet));
        Assert.True(metrics.MicroAccuracy > 0.6, $"2 epochs on 1,600 encoded images reached only {metrics.MicroAccuracy:P1} (chance: 10%)");
        AssertAFreshProcessLoadsItBitForBit(ml, model, split, "raw-bytes");
    }

    /// <summary>
    /// Saves <paramref name="model"/>, has test/ModelLoadProbe (a process that knows nothing of this library but what the
    /// model file names) load it and score the test split's files, and asserts it computed the same floats and metrics.
    /// </summary>
    private (string ModelPath, List<ImageFile> TestRows) AssertAFreshProcessLoadsItBitForBit(MLContext ml, ITransformer model,
        DataOperationsCatalog.TrainTestData split, string name)
    {
        var modelPath = _folder[$"{name}-model.zip"];
        ml.Model.Save(model, split.TrainSet.Schema, modelPath);
        var testRows = ml.Data.CreateEnumerable<ImageFile>(split.TestSet, reuseRowObject: false).ToList();
        var rowsPath = _folder[$"{name}-test-rows.tsv"];
        File.WriteAllLines(rowsPath, testRows.Select(r => $"{r.Label}\t{r.ImagePath}"));
        var outputPath = _folder[$"{name}-fresh-process.txt"];
        ModelLoadProbe.Run(rowsPath, modelPath, outputPath);
        Assert.Equal(ModelLoadProbe.Expected(ml, model, ml.Data.LoadFromEnumerable(testRows)), ModelLoadProbe.Result.Read(outputPath));
        return (modelPath, testRows);
    }

    [Fact]
    public void A_truncated_image_read_as_raw_bytes_is_refused_naming_the_file_not_trained_on_as_black()
    {
        var victim = Directory.EnumerateFiles(Path.Combine(_images, "Sandal")).Order(StringComparer.Ordinal).First();
        var kept = File.ReadAllBytes(victim);
        File.WriteAllBytes(victim, kept[..60]);   // the header and a little of the data: SkiaSharp opens it, then runs out
        try
        {
            var ml = new MLContext(seed: 1);
            var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
                .Append(ml.Transforms.LoadRawImageBytes("Features", _images, "ImagePath"))
                .Append(ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(new ImageClassifierWithNormOptions
                    { Architecture = Architecture.LeNet, Epochs = 1, ImageChannels = 1, ImageHeight = 28, ImageWidth = 28 }));
            var error = Assert.Throws<InvalidDataException>(() => pipeline.Fit(ImageFolder.Load(ml, _images)));
            Assert.Contains($"ImagePath 'Sandal/{Path.GetFileName(victim)}'", error.Message);
            Assert.Contains("not a complete image", error.Message);
        }
        finally
        {
            File.WriteAllBytes(victim, kept);
        }
    }

    [Fact]
    public void A_missing_image_file_is_refused_naming_the_file()
    {
        var ml = new MLContext(seed: 1);
        var rows = ImageFolder.Load(ml, _images);
        var victim = Directory.EnumerateFiles(Path.Combine(_images, "Coat")).Order(StringComparer.Ordinal).First();
        var kept = File.ReadAllBytes(victim);
        File.Delete(victim);
        try
        {
            var error = Assert.ThrowsAny<Exception>(() => Pipeline(ml, epochs: 1).Fit(rows));
            Assert.Contains($"Coat/{Path.GetFileName(victim)}", error.Message);
        }
        finally
        {
            File.WriteAllBytes(victim, kept);
        }
    }

    /// <summary>A row of the image folder, as ImageFolder.Load gives it.</summary>
    public sealed class ImageFile
    {
        public string ImagePath { get; set; } = "";

        public string Label { get; set; } = "";
    }

    /// <summary>What the pipeline adds: the probabilities and the predicted class name.</summary>
    public sealed class ImageFilePrediction
    {
        public float[] Score { get; set; } = [];

        public string PredictedLabel { get; set; } = "";
    }
}
