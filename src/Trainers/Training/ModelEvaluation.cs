using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.NN;

namespace MLNetNormalization.Trainers.Training;

/// <summary>Runs a model in eval mode over batches and accumulates the validation metrics of its softmax probabilities.</summary>
public static class ModelEvaluation
{
    /// <summary>
    /// The <see cref="ValidationMetrics"/> of <paramref name="model"/>'s softmax probabilities on <paramref name="batches"/>
    /// (standardized images of <paramref name="shape"/> and their labels), computed batch by batch on the device the
    /// model's parameters are on. The model runs in eval mode and is put back in the mode it was in.
    /// </summary>
    /// <param name="classNames">The classes of the data; their count is the width of the model's output.</param>
    /// <exception cref="ArgumentException">When the model's outputs are not finite.</exception>
    /// <exception cref="InvalidOperationException">When <paramref name="batches"/> hold no example.</exception>
    public static ValidationMetrics Evaluate(Module model, IEnumerable<ImageBatch> batches, ImageShape shape, IReadOnlyList<string> classNames)
    {
        var wasTraining = model.IsTraining;
        model.Eval();
        var device = model.Parameters().First().Device;
        var metrics = new ValidationMetricsAccumulator(classNames.Count);
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
        return metrics.ToMetrics();
    }
}
