using MLNetNormalization.Normalization;
using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Data;
using MLNetNormalization.Training;
using static TorchSharp.torch;

namespace MLNetNormalization.Tools.Mlnorm.Evidence;

/// <summary>
/// Reads how a trained model's mode-normalization layers assign each domain's images to their modes ("Mode
/// Normalization", arXiv:1810.05466, section 3.2: the gates should learn to send differently distributed images to different modes). The gates
/// are <see cref="ModeNorm.Gates"/> of each MN layer's own input, captured by a forward pre-hook during an eval pass.
/// </summary>
internal static class GateMeasurement
{
    public static GateDistribution Measure(nn.Module<Tensor, Tensor> model, MultiDomainDataset test, double pixelMean, double pixelStd)
    {
        var layers = NormalizationModel.Layers(model).Where(l => l.Layer is ModeNorm).Select(l => (l.Name, Layer: (ModeNorm)l.Layer)).ToList();
        if (layers.Count == 0)
            throw new ArgumentException("The model has no ModeNorm layer, so it has no gates to read; measure gates of an mn:k=... model.", nameof(model));
        var modes = layers[0].Layer.Modes;
        var domains = test.DomainNames.Count;
        double[][][] Table() => [.. layers.Select(_ => Enumerable.Range(0, domains).Select(_ => new double[modes]).ToArray())];
        var gateSums = Table();
        var argmaxCounts = Table();
        var imagesPerDomain = new int[domains];

        var domain = 0;
        var hooks = layers.Select((entry, index) => entry.Layer.register_forward_pre_hook((_, input) =>
        {
            using var scope = NewDisposeScope();
            var gates = entry.Layer.Gates(CellMoments.Of(input)).cpu();
            var values = gates.data<double>().ToArray();
            for (var n = 0; n < gates.shape[0]; n++)
            {
                var best = 0;
                for (var k = 0; k < modes; k++)
                {
                    gateSums[index][domain][k] += values[n * modes + k];
                    if (values[n * modes + k] > values[n * modes + best]) best = k;
                }
                argmaxCounts[index][domain][best]++;
            }
            return input;
        })).ToList();
        try
        {
            model.eval();
            using var noGrad = no_grad();
            for (domain = 0; domain < domains; domain++)
            {
                var images = test.Images.Subset(test.IndicesOf(domain));
                imagesPerDomain[domain] = images.Count;
                var batches = new BatchAssembler(images, EvidencePlan.EvaluationBatchSize, [pixelMean], [pixelStd]);
                foreach (var batch in batches.InOrder())
                {
                    using var scope = NewDisposeScope();
                    model.call(tensor(batch.Images, [batch.Count, images.Shape.Channels, images.Shape.Height, images.Shape.Width]));
                }
            }
        }
        finally
        {
            foreach (var hook in hooks) hook.remove();
        }
        double[][][] Shares(double[][][] sums) =>
            [.. sums.Select(layer => layer.Select((perMode, d) => perMode.Select(v => v / imagesPerDomain[d]).ToArray()).ToArray())];
        return new GateDistribution([.. layers.Select(l => l.Name)], test.DomainNames, modes, Shares(gateSums), Shares(argmaxCounts));
    }
}
