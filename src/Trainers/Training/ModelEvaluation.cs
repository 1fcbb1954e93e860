using MLNetNormalization.Trainers.Evaluation;
using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.NN;

namespace MLNetNormalization.Trainers.Training;

/// <summary>Runs a model in eval mode over batches and accumulates the multiclass metrics of its softmax probabilities.</summary>
public static class ModelEvaluation
{
    public static MulticlassClassificationMetrics Evaluate(Module model, IEnumerable<ImageBatch> batches, ImageShape shape, IReadOnlyList<string> classNames)
    {
        var wasTraining = model.IsTraining;
        model.Eval();
        var device = model.Parameters().First().Device;
        var metrics = new MulticlassMetricsAccumulator(classNames.Count, Math.Min(5, classNames.Count), classNames);
        try
        {
            using var noGrad = Torch.NoGrad();
            foreach (var batch in batches)
            {
                using var scope = Torch.NewDisposeScope();
                var images = Tensor.FromSpan<float>(batch.Images, [batch.Count, shape.Channels, shape.Height, shape.Width], device);
                var probabilities = Functional.Softmax(model.Forward(images), 1).To(ScalarType.Float32, Device.Cpu).ToArray<float>();
                metrics.Add(probabilities, batch.Labels);
            }
        }
        finally
        {
            model.Train(wasTraining);
        }
        return metrics.Compute();
    }
}
