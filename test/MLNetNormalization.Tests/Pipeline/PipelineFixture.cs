using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using MLNetNormalization.Tests.Support;
using MLNetNormalization.Backbones;
using MLNetNormalization.Training;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>
/// The tests of this folder share one trained pipeline (training, even tiny, is what costs time) and train only
/// where training itself is under test. They train with libtorch's global generator, so they run alone.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PipelineCollection : ICollectionFixture<PipelineFixture>
{
    public const string Name = "Pipeline";
}

/// <summary>
/// The pipeline a user writes, fitted once with <c>new MLContext(seed: 1)</c>:
/// MapValueToKey("Label") → ImageClassifierWithNorm(LeNet, BN, 2 epochs) → MapKeyToValue("PredictedLabel"), on 240
/// synthetic 1x16x16 images of 3 classes; the held-out 60 scored; the model saved with ml.Model.Save, as it is and with
/// inference alpha 0.3 (which changes what the network computes, so a saved alpha that is lost or wrong shows).
/// </summary>
public sealed class PipelineFixture : IDisposable
{
    public const int Seed = 1;
    public const double SavedAlpha = 0.3;
    public const int Epochs = 2, BatchSize = 16, TrainPerClass = 80, TestPerClass = 20, TrainSeed = 101, TestSeed = 102;

    private readonly List<TrainingProgress> reports = [];
    private readonly List<LoggingEventArgs> log = [];

    public PipelineFixture()
    {
        var options = SmallOptions();
        options.MetricsCallback = reports.Add;
        (Context, Train, Test, Pipeline) = Prepare(Seed, options);
        // After Prepare, which the determinism test repeats in fresh contexts: this context differs from them only by this.
        Context.Log += (_, e) => { lock (log) log.Add(e); };
        Model = Pipeline.Fit(Train);
        Classifier = Model.OfType<ImageClassificationTransformer>().Single();
        KeyMap = Model.First();
        Scored = Model.Transform(Test);

        ModelPath = Folder.File("model.zip");
        Context.Model.Save(Model, Train.Schema, ModelPath);
        AlphaClassifier = Classifier.WithInferenceAlpha(SavedAlpha);
        AlphaModel = new TransformerChain<ITransformer>(KeyMap, AlphaClassifier, Model.LastTransformer);
        AlphaModelPath = Folder.File("model-alpha.zip");
        Context.Model.Save(AlphaModel, Train.Schema, AlphaModelPath);
    }

    internal TempDirectory Folder { get; } = new();
    public MLContext Context { get; }
    public IDataView Train { get; }
    public IDataView Test { get; }
    public IReadOnlyList<ImageRow> TestRows { get; } = SyntheticImages.Rows(TestPerClass, TestSeed);
    public EstimatorChain<KeyToValueMappingTransformer> Pipeline { get; }
    public TransformerChain<KeyToValueMappingTransformer> Model { get; }

    /// <summary>The fitted MapValueToKey("Label"): prepares labelled data as the classifier was trained on it.</summary>
    public ITransformer KeyMap { get; }

    public ImageClassificationTransformer Classifier { get; }

    /// <summary>The test rows through the whole fitted pipeline.</summary>
    public IDataView Scored { get; }

    /// <summary>The reports the MetricsCallback received while the fixture trained.</summary>
    public IReadOnlyList<TrainingProgress> Reports => reports;

    /// <summary>Everything ml.Log received, training included.</summary>
    public IReadOnlyList<LoggingEventArgs> Log
    {
        get { lock (log) return [.. log]; }
    }

    public string ModelPath { get; }
    public ImageClassificationTransformer AlphaClassifier { get; }
    public TransformerChain<ITransformer> AlphaModel { get; }
    public string AlphaModelPath { get; }

    /// <summary>The test rows with their label as keys, as the classifier itself and TuneInferenceAlpha take them.</summary>
    public IDataView KeyedTest => KeyMap.Transform(Test);

    /// <summary>A copy of the saved model, for a test to damage.</summary>
    public string CopyOfModel()
    {
        var copy = Folder.File($"copy-{Guid.NewGuid():N}.zip");
        File.Copy(ModelPath, copy);
        return copy;
    }

    /// <summary>LeNet with BN, tiny and quick; no augmentation (crop padding and flips would only blur the patterns).</summary>
    public static ImageClassifierWithNormOptions SmallOptions() => new()
    {
        Architecture = Architecture.LeNet, NormalizerSpecification = "bn", Epochs = Epochs, BatchSize = BatchSize, LearningRate = 0.05,
        CropPadding = 0, HorizontalFlip = false, Device = ComputeDevice.Cpu,
    };

    /// <summary>
    /// A new context with <paramref name="seed"/>, the training and test data loaded into it and the pipeline made, always
    /// in this order: the classifier draws its seed from the context when it is made, after whatever came before.
    /// </summary>
    public static (MLContext Context, IDataView Train, IDataView Test, EstimatorChain<KeyToValueMappingTransformer> Pipeline) Prepare(
        int seed, ImageClassifierWithNormOptions options)
    {
        var ml = new MLContext(seed);
        var train = ml.Data.LoadFromEnumerable(SyntheticImages.Rows(TrainPerClass, TrainSeed));
        var test = ml.Data.LoadFromEnumerable(SyntheticImages.Rows(TestPerClass, TestSeed));
        return (ml, train, test, MakePipeline(ml, options));
    }

    /// <summary>MapValueToKey("Label") → the classifier → MapKeyToValue("PredictedLabel"), as ML.NET's samples write a multiclass pipeline.</summary>
    public static EstimatorChain<KeyToValueMappingTransformer> MakePipeline(MLContext ml, ImageClassifierWithNormOptions options) =>
        ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(options))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

    public void Dispose()
    {
        Classifier.Dispose();
        AlphaClassifier.Dispose();
        Folder.Dispose();
    }
}
