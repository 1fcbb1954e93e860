namespace MLNetNormalization.TorchBinding.NN;

/// <summary>
/// libtorch's own BatchNorm2d kernel, as PyTorch's nn.BatchNorm2d: batch statistics in training (running
/// statistics updated with momentum, variance unbiased), running statistics in evaluation.
/// The project's own normalizers live in MLNetNormalization.Normalization; this one is the reference.
/// </summary>
public sealed class BatchNorm2d : Module
{
    public BatchNorm2d(long features, double eps = 1e-5, double momentum = 0.1)
    {
        Eps = eps;
        Momentum = momentum;
        Weight = RegisterParameter("weight", Torch.Ones([features]));
        Bias = RegisterParameter("bias", Torch.Zeros([features]));
        RunningMean = RegisterBuffer("running_mean", Torch.Zeros([features]));
        RunningVar = RegisterBuffer("running_var", Torch.Ones([features]));
    }

    public Tensor Weight { get; }
    public Tensor Bias { get; }
    public Tensor RunningMean { get; }
    public Tensor RunningVar { get; }
    public double Eps { get; }
    public double Momentum { get; }

    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 4)
            throw new ArgumentException($"BatchNorm2d: expected 4D input (got {input.Rank}D input)", nameof(input));
        return Functional.BatchNorm(input, RunningMean, RunningVar, Weight, Bias, IsTraining, Momentum, Eps);
    }
}
