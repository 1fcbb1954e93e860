using MLNetNormalization.TorchBinding;

namespace MLNetNormalization.Normalization.Core;

/// <summary>
/// A running mean and running variance (buffers saved with the model), updated once per training
/// step as running = (1 - momentum)·running + momentum·batch, the variance unbiased by the count of
/// values it came from, as PyTorch's BatchNorm2d does. Both are float64 whatever the layer's type: inference
/// differences the mean against the input (x - mean), which would keep a float32 mean's rounding error
/// (~1e-3 at an offset of 1e4) while cancelling the offset.
/// </summary>
public sealed class RunningMoments
{
    public RunningMoments(Tensor mean, Tensor var)
    {
        if (mean.Type != ScalarType.Float64 || var.Type != ScalarType.Float64)
            throw new ArgumentException(
                $"Running moments are float64 buffers, so that they do not cancel at inference (got {mean.Type} and {var.Type}).", nameof(mean));
        Mean = mean;
        Var = var;
    }

    /// <summary>Mean buffer, initially 0.</summary>
    public Tensor Mean { get; }

    /// <summary>Variance buffer, initially 1.</summary>
    public Tensor Var { get; }

    /// <summary>
    /// Folds in a batch's biased variance, unbiased by the <paramref name="valuesPerSet"/> values it came from.
    /// A set of one value (per-channel moments of a per-example layer trained on one example of one pixel,
    /// a valid batch for that layer) has no variance to unbias: only its mean is folded in, and the running
    /// variance is kept rather than turned into 0·∞ = NaN.
    /// </summary>
    public void Update(MeanVar batch, long valuesPerSet, double momentum)
    {
        if (valuesPerSet > 1)
        {
            UpdateAsGiven(batch with { Var = batch.Var.Mul(valuesPerSet / (double)(valuesPerSet - 1)) }, momentum);
            return;
        }
        using var noGrad = Torch.NoGrad();
        Mean.MulInPlace(1 - momentum).AddInPlace(batch.Mean.Reshape(Mean.Shape), momentum);
    }

    /// <summary>Folds in a batch's mean and variance as they are.</summary>
    public void UpdateAsGiven(MeanVar batch, double momentum)
    {
        using var noGrad = Torch.NoGrad();
        Mean.MulInPlace(1 - momentum).AddInPlace(batch.Mean.Reshape(Mean.Shape), momentum);
        Var.MulInPlace(1 - momentum).AddInPlace(batch.Var.Reshape(Var.Shape), momentum);
    }

    /// <summary>The buffers as (mean, var) tables, outside autograd.</summary>
    public MeanVar AsMeanVar => new(Mean.Detach(), Var.Detach());
}
