using TorchSharp;
using static TorchSharp.torch;

namespace MLNetNormalization.Training;

/// <summary>Runs a model in eval mode over batches and accumulates the validation metrics of its softmax probabilities.</summary>
internal static class ModelEvaluation
{
    /// <summary>
    /// The <see cref="ValidationMetrics"/> of <paramref name="model"/>'s softmax probabilities on <paramref name="batches"/>
    /// (standardized images of <paramref name="shape"/> and their labels), computed batch by batch, each in its own dispose
    /// scope, on the device the model's parameters are on. The model runs in eval mode and is put back in the mode it was in.
    /// </summary>
    /// <param name="model">Maps [N, C, H, W] float32 images to [N, classes] logits.</param>
    /// <param name="classNames">The classes of the data; their count is the width of the model's output.</param>
    /// <param name="channelsLast">Lay each batch out channels-last (see <see cref="TrainingOptions.ChannelsLast"/>).</param>
    /// <exception cref="ArgumentException">When the model's outputs are not finite, or the model has no parameters.</exception>
    /// <exception cref="InvalidOperationException">When <paramref name="batches"/> hold no example.</exception>
    public static ValidationMetrics Evaluate(nn.Module<Tensor, Tensor> model, IEnumerable<ImageBatch> batches, ImageShape shape, IReadOnlyList<string> classNames,
                                            bool channelsLast = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        var wasTraining = model.training;
        var device = model.parameters().FirstOrDefault()?.device
            ?? throw new ArgumentException("The model has no parameters, so there is no device to evaluate it on.", nameof(model));
        model.eval();
        var metrics = new ValidationMetricsAccumulator(classNames.Count);
        try
        {
            using var noGrad = no_grad();
            foreach (var batch in batches)
            {
                using var scope = NewDisposeScope();
                var images = ClassifierTrainer.ImagesTensor(batch, shape, device, channelsLast);
                var probabilities = nn.functional.softmax(model.call(images), 1).to(float32, CPU).data<float>().ToArray();
                metrics.Add(probabilities, batch.Labels);
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return metrics.ToMetrics();
    }
}
