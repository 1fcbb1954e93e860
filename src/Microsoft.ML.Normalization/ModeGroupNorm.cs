namespace MLNetNormalization.Normalization;

/// <summary>
/// Mode group normalization ("Mode Normalization", arXiv:1810.05466, Alg. 3 and eq. 5) with K modes. Per example,
/// each channel is gated into the modes by g[n,c,k] = softmax_k(a_k·m[n,c] + b_k) (a: 1/K + 0.01·N(0,1),
/// b: 0), each mode pools mean and variance over the channels by those weights, and
/// y = gamma[c]/K · Σ_k (x - mu[n,k]) / sqrt(var[n,k] + eps) + beta[c] (eq. 5: an unweighted mean over
/// modes; <see cref="GateWeightedOutput"/> weighs mode k by g[n,c,k] instead). No batch statistics:
/// training and inference compute the same; running moments per channel allow alpha &lt; 1 (default 1).
/// </summary>
public sealed class ModeGroupNorm : NormalizationLayer
{
    private readonly RunningMoments running;

    /// <inheritdoc cref="BatchNorm(long, double, double)"/>
    /// <param name="modes">K, the modes (default 2, the paper's), at least 1.</param>
    /// <param name="gateWeightedOutput">Weigh mode k's output by the gates instead of 1/K (default false: eq. 5).</param>
    /// <exception cref="ArgumentOutOfRangeException">K below 1.</exception>
    public ModeGroupNorm(long channels, int modes = NormalizerFactory.DefaultModes, bool gateWeightedOutput = false, double eps = DefaultEps, double momentum = DefaultMomentum)
        : base("ModeGroupNorm", channels, eps, momentum, defaultAlpha: 1)
    {
        if (modes < 1) throw new ArgumentOutOfRangeException(nameof(modes), modes, "ModeGroupNorm: the number of modes K must be >= 1.");
        Modes = modes;
        GateWeightedOutput = gateWeightedOutput;
        register_parameter("gate_scale", new Parameter(nn.init.normal_(empty(modes), 1.0 / modes, 0.01)));
        register_parameter("gate_shift", new Parameter(zeros(modes)));
        running = RegisterRunningMoments(channels);
    }

    /// <summary>K, the modes.</summary>
    public int Modes { get; }

    /// <summary>Whether mode k's output is weighed by the gates rather than 1/K.</summary>
    public bool GateWeightedOutput { get; }

    /// <summary>a, [K] (state_dict "gate_scale").</summary>
    public Parameter GateScale => ParameterNamed("gate_scale");

    /// <summary>b, [K] (state_dict "gate_shift").</summary>
    public Parameter GateShift => ParameterNamed("gate_shift");

    public override bool HasRunningStatistics => true;

    private protected override string Settings => $"modes={Modes}, gate_weighted_output={GateWeightedOutput}";

    public override IEnumerable<Parameter> GatingParameters() => [GateScale, GateShift];

    // The gates pool the channels by the example's own cell means, even when the moments pooled are the
    // running ones; only with a single mode are the gates 1 and the channel weights 1/C whatever the input.
    private protected override bool InferenceStatisticsAreFixed(double alpha) => Modes == 1 && alpha == 0;

    /// <summary>The gates g[n,c,k] of a batch, [N, C, K] float64.</summary>
    internal Tensor Gates(CellMoments cells) => softmax(GateLogits(cells), 2);

    // a_k·m[n,c] + b_k, [N, C, K] float64.
    private Tensor GateLogits(CellMoments cells) =>
        cells.Mean.unsqueeze(2) * GateScale.to(ScalarType.Float64) + GateShift.to(ScalarType.Float64);

    private protected override (Tensor Scale, Tensor Shift) Affine(CellMoments cells)
    {
        var logits = GateLogits(cells);
        // Each mode's weights over the channels, g[n,c,k] / Σ_c g[n,c,k], normalized in log space: a mode
        // whose gates are all tiny (collapsed) still pools the channels by their relative weights, where
        // dividing the gates by their ~0 sum would not. Eq. 5 weighs every mode's output equally, so a
        // collapsed mode's statistics must stay right, not merely finite.
        var channelWeights = softmax(nn.functional.log_softmax(logits, 2), 1);
        var perChannel = new MeanVar(cells.Mean.unsqueeze(2), cells.Var.unsqueeze(2));
        var perMode = Squeeze(Pool.Weighted(perChannel, channelWeights));
        if (training)
        {
            CheckTrainingSetSize(PixelSet.Layer, cells.Shape);
            running.Update(PixelSet.Batch.PoolSets(cells), cells.N * cells.PixelsPerCell, Momentum);
        }
        else if (Alpha == 1)
        {
            CheckInferenceSetSize(PixelSet.Layer, cells.Shape, exampleAlone: true, keepsRunningStatistics: true);
        }
        else
        {
            var runningPerChannel = running.AsMeanVar;
            var runningSets = Squeeze(Pool.Weighted(
                new(runningPerChannel.Mean.view(1, Channels, 1).expand(cells.N, Channels, 1),
                    runningPerChannel.Var.view(1, Channels, 1).expand(cells.N, Channels, 1)), channelWeights));
            perMode = Pool.MixWithRunning(perMode, runningSets, Alpha);
        }
        // [N, C, K] weights of the modes in each channel's output: 1/K (eq. 5) or the gates.
        var modeWeights = GateWeightedOutput ? softmax(logits, 2) : full([1, 1, Modes], 1.0 / Modes, ScalarType.Float64, logits.device);
        var weighted = modeWeights * (perMode.Var.clamp(min: 0) + Eps).rsqrt().unsqueeze(1);
        var scale = weighted.sum(2) * Gamma();
        var shift = (weighted * (cells.Mean.unsqueeze(2) - perMode.Mean.unsqueeze(1))).sum(2) * Gamma() + Beta();
        return (scale, shift);
    }

    private protected override TableAlgebra TrainingTableAlgebra(long[] shape)
    {
        CheckTrainingSetSize(PixelSet.Layer, shape);
        return new Tables(this, inferenceAlpha: null);
    }

    private protected override TableAlgebra InferenceTableAlgebra(long[] shape)
    {
        if (Alpha == 1) CheckInferenceSetSize(PixelSet.Layer, shape, exampleAlone: true, keepsRunningStatistics: true);
        return new Tables(this, Alpha);
    }

    /// <summary>
    /// <see cref="Affine"/> in .NET arrays: gate logits z[n,c,k] = a_k·m + b_k, channel weights
    /// w[n,c,k] = softmax_c(log_softmax_k(z)), mode moments mu[n,k] = Σ_c w·m and var[n,k] = Σ_c w·(v + (m - mu)²) (at
    /// inference below alpha 1, mixed by alpha with the running moments pooled by the same weights), r =
    /// (max(var, 0) + eps)^(-1/2), mode weights o = 1/K or softmax_k(z), A = gamma·Σ_k o·r and
    /// B = gamma·Σ_k o·r·(m - mu) + beta. The backward, written out, is the training algebra's.
    /// </summary>
    private sealed class Tables(ModeGroupNorm layer, double? inferenceAlpha) : TableAlgebra
    {
        public override IReadOnlyList<Parameter> Gating => [layer.GateScale, layer.GateShift];

        public override TableForward Forward(CellTables cells, AffineSettings affine)
        {
            var (examples, channels, modes) = (cells.Examples, cells.Channels, layer.Modes);
            var (gateScale, gateShift) = (Values(layer.GateScale), Values(layer.GateShift));
            // [N, C, K]: the gates and the log-gates of every cell.
            var (gates, logGates) = (new double[cells.Count * modes], new double[cells.Count * modes]);
            for (var i = 0; i < cells.Count; i++)
            {
                var row = logGates.AsSpan(i * modes, modes);
                for (var k = 0; k < modes; k++) row[k] = gateScale[k] * cells.Mean[i] + gateShift[k];
                LogSoftmax(row, gates.AsSpan(i * modes, modes));
            }
            // Each mode's weights over the channels, normalized in log space (see Affine).
            var channelWeights = new double[cells.Count * modes];
            for (var n = 0; n < examples; n++)
                for (var k = 0; k < modes; k++)
                {
                    var largest = double.NegativeInfinity;
                    for (var c = 0; c < channels; c++) largest = Math.Max(largest, logGates[((n * channels) + c) * modes + k]);
                    var total = 0.0;
                    for (var c = 0; c < channels; c++)
                        total += channelWeights[((n * channels) + c) * modes + k] = Math.Exp(logGates[((n * channels) + c) * modes + k] - largest);
                    for (var c = 0; c < channels; c++) channelWeights[((n * channels) + c) * modes + k] /= total;
                }
            var (mean, var) = (new double[examples * modes], new double[examples * modes]);
            for (var n = 0; n < examples; n++)
                for (var k = 0; k < modes; k++)
                {
                    var j = n * modes + k;
                    for (var c = 0; c < channels; c++) mean[j] += channelWeights[(n * channels + c) * modes + k] * cells.Mean[n * channels + c];
                    for (var c = 0; c < channels; c++)
                    {
                        var deviation = cells.Mean[n * channels + c] - mean[j];
                        var[j] += channelWeights[(n * channels + c) * modes + k] * (cells.Var[n * channels + c] + deviation * deviation);
                    }
                }
            if (inferenceAlpha is null) FoldChannelMoments(cells, affine.Momentum);
            else if (inferenceAlpha < 1) MixWithRunning(cells, channelWeights, mean, var, inferenceAlpha.Value);

            var rsqrt = Array.ConvertAll(var, v => InverseStd(v, affine.Eps).Rsqrt);
            var (scale, shift) = (new double[cells.Count], new double[cells.Count]);
            for (var i = 0; i < cells.Count; i++)
            {
                var (n, c) = (i / channels, i % channels);
                double scaleSum = 0, shiftSum = 0;
                for (var k = 0; k < modes; k++)
                {
                    var weighted = ModeWeight(gates, i, k) * rsqrt[n * modes + k];
                    scaleSum += weighted;
                    shiftSum += weighted * (cells.Mean[i] - mean[n * modes + k]);
                }
                scale[i] = scaleSum * affine.Gamma[c];
                shift[i] = shiftSum * affine.Gamma[c] + affine.Beta[c];
            }
            return new ModeForward(cells, affine, scale, shift, gateScale, gates, channelWeights, mean, var, rsqrt);
        }

        public override TableGradients Backward(TableForward result, double[] gradScale, double[] gradShift)
        {
            if (inferenceAlpha is not null)
                throw new InvalidOperationException("ModeGroupNorm's inference table algebra has no backward; take the general path where a gradient is wanted.");
            var forward = (ModeForward)result;
            var (cells, affine) = (forward.Cells, forward.Affine);
            var (channels, modes) = (cells.Channels, layer.Modes);
            var (gradGamma, gradBeta) = (new double[channels], new double[channels]);
            var (gradModeMean, gradRsqrt) = (new double[forward.Mean.Length], new double[forward.Mean.Length]);
            var gradModeWeights = new double[cells.Count * modes];
            for (var i = 0; i < cells.Count; i++)
            {
                var (n, c) = (i / channels, i % channels);
                gradBeta[c] += gradShift[i];
                for (var k = 0; k < modes; k++)
                {
                    var (j, modeWeight) = (n * modes + k, ModeWeight(forward.Gates, i, k));
                    // The gradient of o·r, which A and B weigh by gamma and gamma·(m - mu).
                    var gradWeighted = gradScale[i] + gradShift[i] * (cells.Mean[i] - forward.Mean[j]);
                    gradGamma[c] += modeWeight * forward.Rsqrt[j] * gradWeighted;
                    gradWeighted *= affine.Gamma[c];
                    gradModeMean[j] -= gradShift[i] * affine.Gamma[c] * modeWeight * forward.Rsqrt[j];
                    gradModeWeights[i * modes + k] = gradWeighted * forward.Rsqrt[j];
                    gradRsqrt[j] += gradWeighted * modeWeight;
                }
            }
            var gradModeVar = gradRsqrt.Select((grad, j) => grad * InverseStd(forward.Var[j], affine.Eps).Derivative).ToArray();

            // The weighted pooling, into the cell moments and the channel weights (on m - mu, as ModeNorm's).
            var (gradMean, gradVar) = (new double[cells.Count], new double[cells.Count]);
            var gradChannelWeights = new double[cells.Count * modes];
            for (var i = 0; i < cells.Count; i++)
            {
                var n = i / channels;
                for (var k = 0; k < modes; k++)
                {
                    var (j, weight) = (n * modes + k, forward.ChannelWeights[i * modes + k]);
                    var deviation = cells.Mean[i] - forward.Mean[j];
                    gradMean[i] += weight * (gradModeMean[j] + gradModeVar[j] * 2 * deviation);
                    gradVar[i] += weight * gradModeVar[j];
                    gradChannelWeights[i * modes + k] = gradModeMean[j] * deviation + gradModeVar[j] * (cells.Var[i] + deviation * deviation);
                }
            }
            // softmax over the channels, log_softmax over the modes, and (gate-weighted output) the gates' softmax.
            var gradLogGates = new double[cells.Count * modes];
            for (var n = 0; n < cells.Examples; n++)
                for (var k = 0; k < modes; k++)
                {
                    var dot = 0.0;
                    for (var c = 0; c < channels; c++)
                        dot += forward.ChannelWeights[(n * channels + c) * modes + k] * gradChannelWeights[(n * channels + c) * modes + k];
                    for (var c = 0; c < channels; c++)
                    {
                        var at = (n * channels + c) * modes + k;
                        gradLogGates[at] = forward.ChannelWeights[at] * (gradChannelWeights[at] - dot);
                    }
                }
            var (gradGateScale, gradGateShift) = (new double[modes], new double[modes]);
            for (var i = 0; i < cells.Count; i++)
            {
                double logSum = 0, gateDot = 0;
                for (var k = 0; k < modes; k++)
                {
                    logSum += gradLogGates[i * modes + k];
                    gateDot += forward.Gates[i * modes + k] * gradModeWeights[i * modes + k];
                }
                for (var k = 0; k < modes; k++)
                {
                    var gate = forward.Gates[i * modes + k];
                    var gradLogit = gradLogGates[i * modes + k] - gate * logSum;
                    if (layer.GateWeightedOutput) gradLogit += gate * (gradModeWeights[i * modes + k] - gateDot);
                    // z = a_k·m + b_k.
                    gradGateScale[k] += gradLogit * cells.Mean[i];
                    gradGateShift[k] += gradLogit;
                    gradMean[i] += gradLogit * forward.GateScale[k];
                }
            }
            return new(gradMean, gradVar, gradGamma, gradBeta, [gradGateScale, gradGateShift]);
        }

        // o[n,c,k]: the gate, or 1/K (eq. 5).
        private double ModeWeight(double[] gates, int cell, int mode) => layer.GateWeightedOutput ? gates[cell * layer.Modes + mode] : 1.0 / layer.Modes;

        // The [N, K] mode moments mixed, in place, with the running moments per channel pooled by the same channel weights.
        private void MixWithRunning(CellTables cells, double[] channelWeights, double[] mean, double[] var, double alpha)
        {
            var (runningMean, runningVar) = (Values(layer.running.Mean), Values(layer.running.Var));
            var (channels, modes) = (cells.Channels, layer.Modes);
            for (var n = 0; n < cells.Examples; n++)
                for (var k = 0; k < modes; k++)
                {
                    var j = n * modes + k;
                    double pooledMean = 0, pooledVar = 0;
                    for (var c = 0; c < channels; c++) pooledMean += channelWeights[(n * channels + c) * modes + k] * runningMean[c];
                    for (var c = 0; c < channels; c++)
                    {
                        var deviation = runningMean[c] - pooledMean;
                        pooledVar += channelWeights[(n * channels + c) * modes + k] * (runningVar[c] + deviation * deviation);
                    }
                    (mean[j], var[j]) = MixWithRunning(mean[j], var[j], pooledMean, pooledVar, alpha);
                }
        }

        // running.Update(BN's per-channel moments of the batch, N·L values each), as Affine makes it.
        private void FoldChannelMoments(CellTables cells, double momentum)
        {
            var (channelMean, channelVar) = new CellPartition(PixelSet.Batch, cells.Examples, cells.Channels).Pool(cells.Mean, cells.Var);
            new RunningUpdate(PixelSet.Batch, layer.running).FoldIn(channelMean, channelVar, cells.Examples * cells.Pixels, momentum);
        }

        private sealed record ModeForward(
            CellTables Cells, AffineSettings Affine, double[] Scale, double[] Shift, double[] GateScale, double[] Gates,
            double[] ChannelWeights, double[] Mean, double[] Var, double[] Rsqrt) : TableForward(Cells, Affine, Scale, Shift);
    }

    // [N, K, 1] pooled moments as [N, K].
    private static MeanVar Squeeze(MeanVar moments) => new(moments.Mean.squeeze(2), moments.Var.squeeze(2));
}
