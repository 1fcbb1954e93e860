namespace MLNetNormalization.Normalization;

/// <summary>
/// Mode normalization ("Mode Normalization", arXiv:1810.05466, Alg. 1-2) with K modes. Gates
/// g[n,k] = softmax_k(W·mean_hw x[n,:] + b) (W: K x C, initialised 1/K + 0.01·N(0,1); b: 0) weigh each
/// example into the modes; each mode pools mean and variance per channel over the examples by those
/// weights, and y = gamma·Σ_k g[n,k]·(x - mu[k,c]) / sqrt(var[k,c] + eps) + beta. Running E[x] (0) and
/// E[x²] (1) per mode and channel, float64 whatever the layer's type (their difference would cancel in
/// float32), stand in at inference, var = E[x²] - E[x]² clamped at 0, mixed with
/// the example's own moments by alpha (default 0). K = 1 is BN in training.
/// </summary>
public sealed class ModeNorm : NormalizationLayer
{
    /// <inheritdoc cref="BatchNorm(long, double, double)"/>
    /// <param name="modes">K, the modes (default 2, the paper's), at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">K below 1.</exception>
    public ModeNorm(long channels, int modes = NormalizerFactory.DefaultModes, double eps = DefaultEps, double momentum = DefaultMomentum)
        : base("ModeNorm", channels, eps, momentum, defaultAlpha: 0)
    {
        if (modes < 1) throw new ArgumentOutOfRangeException(nameof(modes), modes, "ModeNorm: the number of modes K must be >= 1.");
        Modes = modes;
        register_parameter("gate_weight", new Parameter(nn.init.normal_(empty(modes, channels), 1.0 / modes, 0.01)));
        register_parameter("gate_bias", new Parameter(zeros(modes)));
        RegisterRunningStatistic("running_mean", [modes, channels], 0);
        RegisterRunningStatistic("running_mean_square", [modes, channels], 1);
    }

    /// <summary>K, the modes.</summary>
    public int Modes { get; }

    /// <summary>W, [K, C] (state_dict "gate_weight").</summary>
    public Parameter GateWeight => ParameterNamed("gate_weight");

    /// <summary>b, [K] (state_dict "gate_bias").</summary>
    public Parameter GateBias => ParameterNamed("gate_bias");

    public override bool HasRunningStatistics => true;

    private protected override string Settings => $"modes={Modes}";

    public override IEnumerable<Parameter> GatingParameters() => [GateWeight, GateBias];

    // The gates weigh the modes by the example's own channel means, even when the modes' moments are the
    // running ones; only a single mode's gate is 1 whatever the input.
    private protected override bool InferenceStatisticsAreFixed(double alpha) => Modes == 1 && alpha == 0;

    /// <summary>The gates g[n,k] of a batch, [N, K] float64.</summary>
    internal Tensor Gates(CellMoments cells) => softmax(GateLogits(cells), 1).to(ScalarType.Float64);

    // W·m[n,:] + b, [N, K] in the layer's type.
    private Tensor GateLogits(CellMoments cells) => nn.functional.linear(cells.Mean.to(GateWeight.dtype), GateWeight, GateBias);

    private protected override (Tensor Scale, Tensor Shift) Affine(CellMoments cells)
    {
        var logits = GateLogits(cells);
        var gates = softmax(logits, 1).to(ScalarType.Float64);
        MeanVar perMode;
        if (training)
        {
            CheckTrainingSetSize(PixelSet.Batch, cells.Shape);
            // Each mode's weights over the examples, g[n,k] / Σ_n g[n,k], normalized in log space: a mode
            // whose gates are all tiny still pools the examples by their relative weights (the MN paper's Alg. 1),
            // where dividing the gates by their ~0 sum would not. Its output share is tiny, but its running
            // moments are what inference uses for the examples that do go to it.
            var exampleWeights = softmax(nn.functional.log_softmax(logits, 1), 0).to(ScalarType.Float64);
            perMode = Pool.Weighted(cells.AsMeanVar, exampleWeights);
            UpdateRunning(perMode);
        }
        else
        {
            CheckInferenceSetSize(PixelSet.Batch, cells.Shape, exampleAlone: Alpha == 1, keepsRunningStatistics: true);
            perMode = Pool.MixWithRunning(
                new(cells.Mean.unsqueeze(1), cells.Var.unsqueeze(1)), RunningPerMode(), Alpha);
        }
        // Per mode k (rows [K, C] or, with alpha, [N, K, C]): A += g·gamma·s, B += g·gamma·(m - mu)·s.
        var inverseStd = (perMode.Var.clamp(min: 0) + Eps).rsqrt();
        var weighted = gates.unsqueeze(2) * inverseStd;
        var scale = weighted.sum(1) * Gamma();
        var shift = (weighted * (cells.Mean.unsqueeze(1) - perMode.Mean)).sum(1) * Gamma() + Beta();
        return (scale, shift);
    }

    private void UpdateRunning(MeanVar perMode)
    {
        using var noGrad = no_grad();
        var mean = perMode.Mean;
        // running + momentum·(batch - running), the momentum blend in one op.
        BufferNamed("running_mean").lerp_(mean, Momentum);
        BufferNamed("running_mean_square").lerp_(perMode.Var + mean.square(), Momentum);
    }

    private protected override TableAlgebra TrainingTableAlgebra(long[] shape)
    {
        CheckTrainingSetSize(PixelSet.Batch, shape);
        return new Tables(this, inferenceAlpha: null);
    }

    private protected override TableAlgebra InferenceTableAlgebra(long[] shape)
    {
        CheckInferenceSetSize(PixelSet.Batch, shape, exampleAlone: Alpha == 1, keepsRunningStatistics: true);
        return new Tables(this, Alpha);
    }

    /// <summary>
    /// <see cref="Affine"/> in .NET arrays: gate logits z = W·m[n,:] + b, gates g = softmax_k(z); in training, example
    /// weights w[n,k] = softmax_n(log_softmax_k(z)), mode moments mu[k,c] = Σ_n w·m and var[k,c] = Σ_n w·(v + (m - mu)²),
    /// with the backward written out; at inference (<paramref name="inferenceAlpha"/>), the cell's own moments mixed with
    /// each mode's running ones by alpha, forward only. Then r = (max(var, 0) + eps)^(-1/2), A = gamma·Σ_k g·r and
    /// B = gamma·Σ_k g·r·(m - mu) + beta.
    /// </summary>
    private sealed class Tables(ModeNorm layer, double? inferenceAlpha) : TableAlgebra
    {
        public override IReadOnlyList<Parameter> Gating => [layer.GateWeight, layer.GateBias];

        public override TableForward Forward(CellTables cells, AffineSettings affine)
        {
            var (examples, channels, modes) = (cells.Examples, cells.Channels, layer.Modes);
            var (gateWeight, gateBias) = (Values(layer.GateWeight), Values(layer.GateBias));
            var (gates, logGates) = (new double[examples * modes], new double[examples * modes]);
            for (var n = 0; n < examples; n++)
            {
                for (var k = 0; k < modes; k++)
                {
                    var logit = gateBias[k];
                    for (var c = 0; c < channels; c++) logit += gateWeight[k * channels + c] * cells.Mean[n * channels + c];
                    logGates[n * modes + k] = logit;
                }
                LogSoftmax(logGates.AsSpan(n * modes, modes), gates.AsSpan(n * modes, modes));
            }
            if (inferenceAlpha is { } alpha) return InferenceForward(cells, affine, gates, alpha);

            // Each mode's weights over the examples, normalized in log space (see Affine).
            var exampleWeights = new double[examples * modes];
            for (var k = 0; k < modes; k++)
            {
                var largest = double.NegativeInfinity;
                for (var n = 0; n < examples; n++) largest = Math.Max(largest, logGates[n * modes + k]);
                var total = 0.0;
                for (var n = 0; n < examples; n++) total += exampleWeights[n * modes + k] = Math.Exp(logGates[n * modes + k] - largest);
                for (var n = 0; n < examples; n++) exampleWeights[n * modes + k] /= total;
            }
            var (mean, var) = (new double[modes * channels], new double[modes * channels]);
            for (var k = 0; k < modes; k++)
                for (var c = 0; c < channels; c++)
                {
                    var j = k * channels + c;
                    for (var n = 0; n < examples; n++) mean[j] += exampleWeights[n * modes + k] * cells.Mean[n * channels + c];
                    for (var n = 0; n < examples; n++)
                    {
                        var i = n * channels + c;
                        var deviation = cells.Mean[i] - mean[j];
                        var[j] += exampleWeights[n * modes + k] * (cells.Var[i] + deviation * deviation);
                    }
                }
            LerpInto(layer.BufferNamed("running_mean"), mean, affine.Momentum);
            LerpInto(layer.BufferNamed("running_mean_square"), mean.Select((mu, j) => var[j] + mu * mu).ToArray(), affine.Momentum);

            var rsqrt = Array.ConvertAll(var, v => InverseStd(v, affine.Eps).Rsqrt);
            var (scale, shift) = CellAffine(cells, affine, gates, mean, rsqrt, (n, k, c) => k * channels + c);
            return new ModeForward(cells, affine, scale, shift, gateWeight, gates, exampleWeights, mean, var, rsqrt);
        }

        // Each cell's moments mixed with each mode's running ones (RunningPerMode) by alpha: [N, K, C].
        private InferenceResult InferenceForward(CellTables cells, AffineSettings affine, double[] gates, double alpha)
        {
            var (channels, modes) = (cells.Channels, layer.Modes);
            var runningMean = Values(layer.BufferNamed("running_mean"));
            var runningSquare = Values(layer.BufferNamed("running_mean_square"));
            var (mean, var) = (new double[cells.Count * modes], new double[cells.Count * modes]);
            for (var i = 0; i < cells.Count; i++)
                for (var k = 0; k < modes; k++)
                {
                    var (j, r) = (((i / channels) * modes + k) * channels + i % channels, k * channels + i % channels);
                    var runningVar = Math.Max(runningSquare[r] - runningMean[r] * runningMean[r], 0);
                    (mean[j], var[j]) = MixWithRunning(cells.Mean[i], cells.Var[i], runningMean[r], runningVar, alpha);
                }
            var rsqrt = Array.ConvertAll(var, v => InverseStd(v, affine.Eps).Rsqrt);
            var (scale, shift) = CellAffine(cells, affine, gates, mean, rsqrt, (n, k, c) => (n * modes + k) * channels + c);
            return new(cells, affine, scale, shift);
        }

        // A = gamma·Σ_k g·r and B = gamma·Σ_k g·r·(m - mu) + beta per cell, the mode statistics of (n, k, c) at index(n, k, c).
        private (double[] Scale, double[] Shift) CellAffine(CellTables cells, AffineSettings affine, double[] gates, double[] mean,
                                                          double[] rsqrt, Func<int, int, int, int> index)
        {
            var (channels, modes) = (cells.Channels, layer.Modes);
            var (scale, shift) = (new double[cells.Count], new double[cells.Count]);
            for (var i = 0; i < cells.Count; i++)
            {
                var (n, c) = (i / channels, i % channels);
                double scaleSum = 0, shiftSum = 0;
                for (var k = 0; k < modes; k++)
                {
                    var j = index(n, k, c);
                    var weighted = gates[n * modes + k] * rsqrt[j];
                    scaleSum += weighted;
                    shiftSum += weighted * (cells.Mean[i] - mean[j]);
                }
                scale[i] = scaleSum * affine.Gamma[c];
                shift[i] = shiftSum * affine.Gamma[c] + affine.Beta[c];
            }
            return (scale, shift);
        }

        public override TableGradients Backward(TableForward result, double[] gradScale, double[] gradShift)
        {
            if (result is not ModeForward forward)
                throw new InvalidOperationException("ModeNorm's inference table algebra has no backward; take the general path where a gradient is wanted.");
            var (cells, affine) = (forward.Cells, forward.Affine);
            var (examples, channels, modes) = (cells.Examples, cells.Channels, layer.Modes);
            var (gradGamma, gradBeta) = (new double[channels], new double[channels]);
            var (gradModeMean, gradRsqrt) = (new double[modes * channels], new double[modes * channels]);
            var gradGates = new double[examples * modes];
            for (var i = 0; i < cells.Count; i++)
            {
                var (n, c) = (i / channels, i % channels);
                gradBeta[c] += gradShift[i];
                for (var k = 0; k < modes; k++)
                {
                    var (j, gate) = (k * channels + c, forward.Gates[n * modes + k]);
                    // The gradient of g·r, which A and B weigh by gamma and gamma·(m - mu).
                    var gradWeighted = gradScale[i] + gradShift[i] * (cells.Mean[i] - forward.Mean[j]);
                    gradGamma[c] += gate * forward.Rsqrt[j] * gradWeighted;
                    gradWeighted *= affine.Gamma[c];
                    gradModeMean[j] -= gradShift[i] * affine.Gamma[c] * gate * forward.Rsqrt[j];
                    gradGates[n * modes + k] += gradWeighted * forward.Rsqrt[j];
                    gradRsqrt[j] += gradWeighted * gate;
                }
            }
            var gradModeVar = gradRsqrt.Select((grad, j) => grad * InverseStd(forward.Var[j], affine.Eps).Derivative).ToArray();

            // The weighted pooling: into the cell moments and the example weights. A weight's gradient is taken on
            // (m - mu) rather than m: the per-mode constant Σ_c g_mu·mu that this drops is one the softmax over the
            // examples takes out anyway, and m far from zero would otherwise cancel there.
            var (gradMean, gradVar) = (new double[cells.Count], new double[cells.Count]);
            var gradExampleWeights = new double[examples * modes];
            for (var i = 0; i < cells.Count; i++)
            {
                var (n, c) = (i / channels, i % channels);
                for (var k = 0; k < modes; k++)
                {
                    var (j, weight) = (k * channels + c, forward.ExampleWeights[n * modes + k]);
                    var deviation = cells.Mean[i] - forward.Mean[j];
                    gradMean[i] += weight * (gradModeMean[j] + gradModeVar[j] * 2 * deviation);
                    gradVar[i] += weight * gradModeVar[j];
                    gradExampleWeights[n * modes + k] += gradModeMean[j] * deviation + gradModeVar[j] * (cells.Var[i] + deviation * deviation);
                }
            }
            // softmax over the examples, then log_softmax over the modes, back to the logits; and the gates' softmax.
            var gradLogGates = new double[examples * modes];
            for (var k = 0; k < modes; k++)
            {
                var dot = 0.0;
                for (var n = 0; n < examples; n++) dot += forward.ExampleWeights[n * modes + k] * gradExampleWeights[n * modes + k];
                for (var n = 0; n < examples; n++)
                    gradLogGates[n * modes + k] = forward.ExampleWeights[n * modes + k] * (gradExampleWeights[n * modes + k] - dot);
            }
            var gradLogits = new double[examples * modes];
            for (var n = 0; n < examples; n++)
            {
                double logSum = 0, gateDot = 0;
                for (var k = 0; k < modes; k++)
                {
                    logSum += gradLogGates[n * modes + k];
                    gateDot += forward.Gates[n * modes + k] * gradGates[n * modes + k];
                }
                for (var k = 0; k < modes; k++)
                {
                    var gate = forward.Gates[n * modes + k];
                    gradLogits[n * modes + k] = gradLogGates[n * modes + k] - gate * logSum + gate * (gradGates[n * modes + k] - gateDot);
                }
            }
            // z = W·m + b.
            var (gradGateWeight, gradGateBias) = (new double[modes * channels], new double[modes]);
            for (var n = 0; n < examples; n++)
                for (var k = 0; k < modes; k++)
                {
                    var gradLogit = gradLogits[n * modes + k];
                    gradGateBias[k] += gradLogit;
                    for (var c = 0; c < channels; c++)
                    {
                        gradGateWeight[k * channels + c] += gradLogit * cells.Mean[n * channels + c];
                        gradMean[n * channels + c] += gradLogit * forward.GateWeight[k * channels + c];
                    }
                }
            return new(gradMean, gradVar, gradGamma, gradBeta, [gradGateWeight, gradGateBias]);
        }

        private sealed record InferenceResult(CellTables Cells, AffineSettings Affine, double[] Scale, double[] Shift)
            : TableForward(Cells, Affine, Scale, Shift);

        private sealed record ModeForward(
            CellTables Cells, AffineSettings Affine, double[] Scale, double[] Shift, double[] GateWeight, double[] Gates,
            double[] ExampleWeights, double[] Mean, double[] Var, double[] Rsqrt) : TableForward(Cells, Affine, Scale, Shift);
    }

    private MeanVar RunningPerMode()
    {
        var mean = BufferNamed("running_mean").detach();
        var var = (BufferNamed("running_mean_square").detach() - mean.square()).clamp(min: 0);
        return new(mean.unsqueeze(0), var.unsqueeze(0));
    }
}
