namespace MLNetNormalization.Normalization;

/// <summary>
/// Batch normalization (Ioffe and Szegedy, arXiv:1502.03167): y = gamma·(x - mu[c]) / sqrt(var[c] + eps) + beta, with
/// mu and the biased var of channel c over every example's pixels. Running statistics per channel (var unbiased by
/// N·H·W) are what inference uses, mixed with the example's own by alpha (default 0: PyTorch's BatchNorm2d).
/// Training runs through libtorch's fused batch_norm, which accumulates its statistics in double.
/// </summary>
public sealed class BatchNorm : PixelSetNorm
{
    /// <param name="channels">C, the channel count of the [N, C, H, W] input.</param>
    /// <param name="eps">Added to the variance before the square root (default 1e-5).</param>
    /// <param name="momentum">Weight of a batch in the running statistics (default 0.1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A channel count below 1, eps not above 0, momentum outside [0, 1].</exception>
    public BatchNorm(long channels, double eps = DefaultEps, double momentum = DefaultMomentum)
        : base("BatchNorm", channels, PixelSet.Batch, RunningStatisticsKind.PerSet, eps, momentum, defaultAlpha: 0)
    {
    }

    private protected override Tensor? FusedForward(Tensor input) => FusedTraining(this, input);

    /// <summary>
    /// The training output of a layer that pools BN within each chunk of its set (BN: the whole batch; ghost BN:
    /// contiguous chunks of examples) through libtorch's fused batch_norm, which accumulates in double. Given running
    /// buffers of the input's type and momentum 1, the kernel writes each chunk's mean and unbiased variance into them
    /// from the same pass that normalizes; the chunks are split off and joined again as views and one copy (split's
    /// backward is a join, where narrow's would zero-fill the whole input per chunk). Several chunks' moments pool by
    /// Chan's combination into the batch's per-channel moments, which fold into the float64 running statistics; a single
    /// chunk's fold in as the kernel wrote them. Null (the general path) outside training or when the input's type
    /// differs from the parameters'.
    /// </summary>
    internal static Tensor? FusedTraining(PixelSetNorm layer, Tensor input)
    {
        if (!layer.training || input.dtype != layer.Weight.dtype) return null;
        var (set, channels, running, momentum) = (layer.Set, layer.Channels, layer.Running, layer.Momentum);
        var shape = input.shape;
        layer.CheckTrainingSetSize(set, shape);
        var chunkSizes = set.Examples == ExampleGrouping.All
            ? [shape[0]]
            : set.ChunksFor(shape[0]).ChunkOfExample.GroupBy(chunk => chunk).Select(chunk => (long)chunk.Count()).ToArray();
        var chunks = chunkSizes.Length == 1 ? [input] : input.split(chunkSizes, 0);
        var outputs = new Tensor[chunks.Length];
        var means = new Tensor[chunks.Length];
        var variances = new Tensor[chunks.Length];
        for (var k = 0; k < chunks.Length; k++)
        {
            means[k] = zeros(channels, input.dtype, input.device);
            variances[k] = ones(channels, input.dtype, input.device);
            outputs[k] = nn.functional.batch_norm(chunks[k], means[k], variances[k], layer.Weight, layer.Bias, training: true, momentum: 1, eps: layer.Eps);
        }
        using (no_grad())
        {
            if (chunks.Length == 1)
            {
                // One chunk is the batch: the kernel's mean and unbiased variance are the running update as they are.
                layer.CheckFinite(variances[0], shape);
                running.UpdateAsGiven(new(means[0], variances[0]), momentum);
                return outputs[0];
            }
            var pixels = shape[2] * shape[3];
            var counts = tensor(chunkSizes.Select(size => (double)(size * pixels)).ToArray(), device: input.device).unsqueeze(1);
            var chunkMean = stack(means).to(ScalarType.Float64);
            var chunkVar = stack(variances).to(ScalarType.Float64) * (counts - 1) / counts;   // biased, per chunk
            layer.CheckFinite(chunkVar, shape);
            var total = shape[0] * pixels;
            var mean = (chunkMean * counts).sum([0]) / total;
            var var = ((chunkVar + (chunkMean - mean).square()) * counts).sum([0]) / total;
            running.Update(new(mean, var), total, momentum);
        }
        return cat(outputs, 0);
    }
}
