namespace MLNetNormalization.TorchBinding.Optim;

/// <summary>Parameters that share SGD hyper-parameters (for example gamma/beta with their own weight decay).</summary>
public sealed class ParameterGroup
{
    public ParameterGroup(IEnumerable<Tensor> parameters, double learningRate, double momentum = 0, double dampening = 0,
                          double weightDecay = 0, bool nesterov = false)
    {
        Parameters = parameters.ToArray();
        if (learningRate < 0) throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate must be >= 0.");
        if (momentum < 0) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "Momentum must be >= 0.");
        if (weightDecay < 0) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "Weight decay must be >= 0.");
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException("Nesterov momentum needs momentum > 0 and dampening = 0.", nameof(nesterov));
        LearningRate = learningRate;
        InitialLearningRate = learningRate;
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
    }

    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>The rate of the next step; schedulers set it from <see cref="InitialLearningRate"/>.</summary>
    public double LearningRate { get; set; }

    public double InitialLearningRate { get; }
    public double Momentum { get; }
    public double Dampening { get; }
    public double WeightDecay { get; }
    public bool Nesterov { get; }
}
