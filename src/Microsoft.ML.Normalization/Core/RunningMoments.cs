namespace MLNetNormalization.Normalization.Core;

/// <summary>
/// A running mean and running variance (buffers of the owning layer, saved with the model), updated once per
/// training step as running = (1 - momentum)·running + momentum·batch, the variance unbiased by the count of
/// values it came from, as PyTorch's BatchNorm2d does. Both are float64 whatever the layer's type: inference
/// differences the mean against the input (x - mean), which would keep a float32 mean's rounding error
/// (~1e-3 at an offset of 1e4) while cancelling the offset. The buffers are looked up by name on each use, so
/// that they follow the layer through <c>to(device)</c> and <c>load</c>.
/// </summary>
internal sealed class RunningMoments
{
    private readonly nn.Module owner;

    internal RunningMoments(nn.Module owner, string meanName, string varName)
    {
        this.owner = owner;
        MeanName = meanName;
        VarName = varName;
    }

    /// <summary>The buffers' names in the layer's state_dict ("running_mean", "running_var", or with a prefix).</summary>
    public string MeanName { get; }

    public string VarName { get; }

    /// <summary>Mean buffer, initially 0, float64.</summary>
    public Tensor Mean => owner.get_buffer(MeanName)!;

    /// <summary>Variance buffer, initially 1, float64.</summary>
    public Tensor Var => owner.get_buffer(VarName)!;

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
            UpdateAsGiven(batch with { Var = batch.Var * (valuesPerSet / (double)(valuesPerSet - 1)) }, momentum);
            return;
        }
        using var noGrad = no_grad();
        Blend(Mean, batch.Mean, momentum);
    }

    /// <summary>Folds in a batch's mean and variance as they are.</summary>
    public void UpdateAsGiven(MeanVar batch, double momentum)
    {
        using var noGrad = no_grad();
        Blend(Mean, batch.Mean, momentum);
        Blend(Var, batch.Var, momentum);
    }

    // running + momentum·(batch - running) = (1 - momentum)·running + momentum·batch, in one op; called under no_grad.
    private static void Blend(Tensor running, Tensor batch, double momentum) =>
        running.lerp_(batch.to(running.dtype).reshape(running.shape), momentum);

    /// <summary>The buffers as (mean, var) tables, outside autograd.</summary>
    public MeanVar AsMeanVar => new(Mean.detach(), Var.detach());
}
