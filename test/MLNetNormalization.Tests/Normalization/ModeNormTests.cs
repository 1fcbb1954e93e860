using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Support;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>
/// Mode normalization (docs/normalizers.md, section 2; the MN paper's Alg. 1-2) against libtorch's batch_norm (K = 1) and an
/// independent float64 reference in plain loops (K = 2, 3). The gates are set explicitly, so no test
/// depends on the global generator.
/// </summary>
public class ModeNormTests
{
    private const double Eps = 1e-5;
    private const double Momentum = 0.1;
    private static readonly long[] Shape = [5, 3, 2, 3];

    /// <summary>
    /// Spec for MN in plain arrays: x is NCHW row-major, W is [K, C], b is [K]. The statistics are taken
    /// straight from the pixels (no pooling of cell moments), so the reference shares no algebra with the layer.
    /// </summary>
    private sealed class Reference(int n, int c, int l, int k)
    {
        public int N { get; } = n;
        public int C { get; } = c;
        public int L { get; } = l;
        public int K { get; } = k;

        /// <summary>E[x] per (k, c), starting at 0, and E[x²], starting at 1.</summary>
        public double[,] RunningMean { get; } = new double[k, c];
        public double[,] RunningMeanSquare { get; } = Filled(k, c, 1);

        private static double[,] Filled(int rows, int columns, double value)
        {
            var table = new double[rows, columns];
            for (var i = 0; i < rows; i++)
                for (var j = 0; j < columns; j++) table[i, j] = value;
            return table;
        }

        public double[,] CellMean(double[] x)
        {
            var mean = new double[N, C];
            for (var i = 0; i < N; i++)
                for (var j = 0; j < C; j++)
                {
                    for (var p = 0; p < L; p++) mean[i, j] += x[(i * C + j) * L + p];
                    mean[i, j] /= L;
                }
            return mean;
        }

        public double[,] CellVar(double[] x)
        {
            var mean = CellMean(x);
            var var = new double[N, C];
            for (var i = 0; i < N; i++)
                for (var j = 0; j < C; j++)
                {
                    for (var p = 0; p < L; p++) var[i, j] += Math.Pow(x[(i * C + j) * L + p] - mean[i, j], 2);
                    var[i, j] /= L;
                }
            return var;
        }

        /// <summary>g[n,k] = softmax_k(Σ_c W[k,c]·mean_hw x[n,c] + b[k]).</summary>
        public double[,] Gates(double[] x, double[] w, double[] b)
        {
            var mean = CellMean(x);
            var gates = new double[N, K];
            for (var i = 0; i < N; i++)
            {
                var logits = new double[K];
                for (var m = 0; m < K; m++)
                {
                    logits[m] = b[m];
                    for (var j = 0; j < C; j++) logits[m] += w[m * C + j] * mean[i, j];
                }
                var max = logits.Max();
                var total = logits.Sum(v => Math.Exp(v - max));
                for (var m = 0; m < K; m++) gates[i, m] = Math.Exp(logits[m] - max) / total;
            }
            return gates;
        }

        /// <summary>Per (k, c): E[x] and E[x²] over all pixels of all examples, example n weighted by g[n,k].</summary>
        public (double[,] Mean, double[,] MeanSquare) WeightedMoments(double[] x, double[,] gates)
        {
            var mean = new double[K, C];
            var meanSquare = new double[K, C];
            for (var m = 0; m < K; m++)
                for (var j = 0; j < C; j++)
                {
                    double weight = 0, sum = 0, sumSquares = 0;
                    for (var i = 0; i < N; i++)
                        for (var p = 0; p < L; p++)
                        {
                            var value = x[(i * C + j) * L + p];
                            weight += gates[i, m];
                            sum += gates[i, m] * value;
                            sumSquares += gates[i, m] * value * value;
                        }
                    mean[m, j] = sum / weight;
                    meanSquare[m, j] = sumSquares / weight;
                }
            return (mean, meanSquare);
        }

        /// <summary>Per (k, c): the weighted mean and the biased variance about it, Σ g (x - mu)² / Σ g (two passes).</summary>
        public (double[,] Mean, double[,] Var) WeightedStatistics(double[] x, double[,] gates)
        {
            var (mean, _) = WeightedMoments(x, gates);
            var var = new double[K, C];
            for (var m = 0; m < K; m++)
                for (var j = 0; j < C; j++)
                {
                    double weight = 0, sum = 0;
                    for (var i = 0; i < N; i++)
                        for (var p = 0; p < L; p++)
                        {
                            weight += gates[i, m];
                            sum += gates[i, m] * Math.Pow(x[(i * C + j) * L + p] - mean[m, j], 2);
                        }
                    var[m, j] = sum / weight;
                }
            return (mean, var);
        }

        /// <summary>y = gamma·Σ_k g[n,k]·(x - mu)/sqrt(var + eps) + beta with (mu, var) given per (n, k, c).</summary>
        public double[] Output(double[] x, double[,] gates, Func<int, int, int, (double Mean, double Var)> statistics,
                               double[] gamma, double[] beta)
        {
            var y = new double[x.Length];
            for (var i = 0; i < N; i++)
                for (var j = 0; j < C; j++)
                    for (var p = 0; p < L; p++)
                    {
                        var index = (i * C + j) * L + p;
                        double sum = 0;
                        for (var m = 0; m < K; m++)
                        {
                            var (mu, var) = statistics(i, m, j);
                            sum += gates[i, m] * (x[index] - mu) / Math.Sqrt(var + Eps);
                        }
                        y[index] = gamma[j] * sum + beta[j];
                    }
            return y;
        }

        /// <summary>A training step: output with the batch's weighted statistics; updates E[x], E[x²].</summary>
        public double[] Train(double[] x, double[] w, double[] b, double[] gamma, double[] beta)
        {
            var gates = Gates(x, w, b);
            var (mean, var) = WeightedStatistics(x, gates);
            var (batchMean, batchMeanSquare) = WeightedMoments(x, gates);
            for (var m = 0; m < K; m++)
                for (var j = 0; j < C; j++)
                {
                    RunningMean[m, j] = (1 - Momentum) * RunningMean[m, j] + Momentum * batchMean[m, j];
                    RunningMeanSquare[m, j] = (1 - Momentum) * RunningMeanSquare[m, j] + Momentum * batchMeanSquare[m, j];
                }
            return Output(x, gates, (_, m, j) => (mean[m, j], var[m, j]), gamma, beta);
        }

        /// <summary>
        /// Inference: gates from the input; per (n, k, c) the example's own moments (m, v) mixed with the
        /// running ones: mu = a·m + (1-a)·E[x], var = a·v + (1-a)·max(E[x²] - E[x]², 0) + a(1-a)(m - E[x])².
        /// </summary>
        public double[] Evaluate(double[] x, double[] w, double[] b, double[] gamma, double[] beta, double alpha)
        {
            var gates = Gates(x, w, b);
            var cellMean = CellMean(x);
            var cellVar = CellVar(x);
            return Output(x, gates, (i, m, j) =>
            {
                var runningMean = RunningMean[m, j];
                var runningVar = Math.Max(RunningMeanSquare[m, j] - runningMean * runningMean, 0);
                var difference = cellMean[i, j] - runningMean;
                return (alpha * cellMean[i, j] + (1 - alpha) * runningMean,
                        alpha * cellVar[i, j] + (1 - alpha) * runningVar + alpha * (1 - alpha) * difference * difference);
            }, gamma, beta);
        }
    }

    /// <summary>A float64 ModeNorm with seeded gates (spread, not saturated) and a non-trivial affine.</summary>
    private static ModeNorm Layer(int modes, Generator generator, long channels = 3)
    {
        var layer = InFloat64(new ModeNorm(channels, modes, Eps, Momentum));
        WithRandomAffine(layer, generator);
        using var scope = NewDisposeScope();
        Assign(layer.GateWeight, TestData.Values(randn([modes, channels], ScalarType.Float64, generator: generator)));
        Assign(layer.GateBias, TestData.Values(randn([modes], ScalarType.Float64, generator: generator).mul(0.5)));
        return layer;
    }

    private static Reference ReferenceFor(long[] shape, int modes) => new((int)shape[0], (int)shape[1], (int)(shape[2] * shape[3]), modes);

    private static double[] Values(Tensor tensor) => TestData.Values(tensor);

    private static bool AllFinite(Tensor tensor) => tensor.isfinite().all().item<bool>();

    private static double[] Row(double[,] table) => table.Cast<double>().ToArray();

    [Fact]
    public void OneModeInTrainingEqualsLibtorchBatchNormWithGradients()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(101);
        foreach (var type in new[] { ScalarType.Float64, ScalarType.Float32 })
        {
            using var layer = WithRandomAffine(new ModeNorm(3, modes: 1, Eps, Momentum), generator);
            layer.to(type);
            // One mode's gate is 1 whatever its logit; set anyway, so that nothing rests on the global generator.
            Assign(layer.GateWeight, 0.5, -0.25, 1);
            Assign(layer.GateBias, 0.3);
            var input = RandomInput(generator, Shape, scale: 2, offset: 1, type: type);
            var weights = RandomInput(generator, Shape, type: type);
            var gamma = Leaf(layer.Weight);
            var beta = Leaf(layer.Bias);

            var x1 = Leaf(input);
            var y1 = layer.forward(x1);
            y1.mul(weights).sum().backward();
            var x2 = Leaf(input);
            var y2 = nn.functional.batch_norm(x2, null, null, gamma, beta, training: true, eps: Eps);
            y2.mul(weights).sum().backward();

            var tolerance = type == ScalarType.Float64 ? 1e-10 : 1e-4;
            AssertClose(y2, y1, tolerance, tolerance);
            AssertClose(x2.grad!, x1.grad!, tolerance, tolerance);
            AssertClose(gamma.grad!, layer.Weight.grad!, tolerance, tolerance);
            AssertClose(beta.grad!, layer.Bias.grad!, tolerance, tolerance);
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void TrainingMatchesTheReferenceAndRunningMomentsFollowTheGateWeightedBatch(int modes)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(110 + (ulong)modes);
        using var layer = Layer(modes, generator);
        var reference = ReferenceFor(Shape, modes);
        var (w, b, gamma, beta) = (Values(layer.GateWeight), Values(layer.GateBias), Values(layer.Weight), Values(layer.Bias));

        for (var step = 0; step < 3; step++)
        {
            var input = RandomInput(generator, Shape, scale: 1 + step, offset: step - 1);
            var x = Values(input);
            var gates = reference.Gates(x, w, b);
            Assert.True(Row(gates).Min() > 0.02, "the gates should be spread over the modes, so that every mode is tested");
            var expected = reference.Train(x, w, b, gamma, beta);
            Expect.Close(expected, layer.forward(input), 1e-10, 1e-10, Shape);
        }
        Expect.Close(Row(reference.RunningMean), Buffer(layer, "running_mean"), 1e-12, 1e-10, [modes, 3]);
        Expect.Close(Row(reference.RunningMeanSquare), Buffer(layer, "running_mean_square"), 1e-12, 1e-10, [modes, 3]);
    }

    [Fact]
    public void Float32TrainingMatchesTheReference()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(115);
        using var layer = Layer(2, generator);
        layer.to(ScalarType.Float32);
        var reference = ReferenceFor(Shape, 2);
        var input = RandomInput(generator, Shape, scale: 2, offset: 1, type: ScalarType.Float32);
        var expected = reference.Train(Values(input), Values(layer.GateWeight), Values(layer.GateBias), Values(layer.Weight), Values(layer.Bias));
        Expect.Close(expected, layer.forward(input), 1e-4, 1e-4, Shape);
        Expect.Close(Row(reference.RunningMeanSquare), Buffer(layer, "running_mean_square"), 1e-5, 1e-5);
    }

    [Theory]
    [InlineData(2, 0.0)]
    [InlineData(3, 0.0)]
    [InlineData(2, 0.3)]
    [InlineData(3, 0.75)]
    [InlineData(2, 1.0)]
    public void EvaluationMatchesTheReferenceWithRunningMomentsAndExampleWeighing(int modes, double alpha)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(120 + (ulong)modes);
        using var layer = Layer(modes, generator);
        var reference = ReferenceFor(Shape, modes);
        var (w, b, gamma, beta) = (Values(layer.GateWeight), Values(layer.GateBias), Values(layer.Weight), Values(layer.Bias));
        for (var step = 0; step < 4; step++)
        {
            var batch = RandomInput(generator, Shape, scale: 2, offset: 1 + step);
            reference.Train(Values(batch), w, b, gamma, beta);
            layer.forward(batch);
        }
        // E[x²] - E[x]² must be positive here, or the clamp would hide a wrong E[x²].
        Assert.True(Row(reference.RunningMeanSquare).Zip(Row(reference.RunningMean), (s, m) => s - m * m).Min() > 0.1);

        layer.eval();
        layer.Alpha = alpha;
        var runningBefore = Values(Buffer(layer, "running_mean"));
        var input = RandomInput(generator, Shape, scale: 1.5, offset: 2);
        var expected = reference.Evaluate(Values(input), w, b, gamma, beta, alpha);
        Expect.Close(expected, layer.forward(input), 1e-10, 1e-10, Shape);
        Expect.Close(runningBefore, Buffer(layer, "running_mean"), 0);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    public void RunningVarianceIsClampedAtZeroAtInference(double alpha)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(125);
        using var layer = Layer(2, generator);
        // E[x²] < E[x]² can only come from rounding or a loaded state; the variance must then be 0, not negative.
        double[] runningMean = [2, 1, 0, -1, 3, 0.5], runningMeanSquare = [3.9, 2, 1, 0.5, 10, 0.2];
        Assign(Buffer(layer, "running_mean"), runningMean);
        Assign(Buffer(layer, "running_mean_square"), runningMeanSquare);
        var reference = ReferenceFor(Shape, 2);
        for (var j = 0; j < 6; j++)
        {
            reference.RunningMean[j / 3, j % 3] = runningMean[j];
            reference.RunningMeanSquare[j / 3, j % 3] = runningMeanSquare[j];
        }
        layer.eval();
        layer.Alpha = alpha;
        var input = RandomInput(generator, Shape);
        var expected = reference.Evaluate(Values(input), Values(layer.GateWeight), Values(layer.GateBias), Values(layer.Weight), Values(layer.Bias), alpha);
        var actual = layer.forward(input);
        Assert.True(AllFinite(actual));
        Expect.Close(expected, actual, 1e-9, 1e-10, Shape);
    }

    [Theory]
    [InlineData(2, true, 0.0)]
    [InlineData(3, true, 0.0)]
    [InlineData(2, false, 0.0)]
    [InlineData(3, false, 0.4)]
    public void GradientsMatchFiniteDifferences(int modes, bool training, double alpha)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(130 + (ulong)modes);
        long[] shape = [4, 3, 2, 2];
        using var layer = Layer(modes, generator);
        TrainSteps(layer, generator, shape);
        layer.train(training);
        layer.Alpha = alpha;
        AssertLayerGradientsMatch(layer, RandomInput(generator, shape, scale: 1.5, offset: 0.5),
                                  ["weight", "bias", "gate_weight", "gate_bias"]);
    }

    [Fact]
    public void AModeWithATinyWeightSumStillPoolsItsExamplesByTheirWeights()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(135);
        using var layer = Layer(2, generator);
        // Mode 1 gets weights of about e^-30 per example, a sum far below 1e-12 yet well defined: its
        // statistics (and so its running moments) are the weighted ones, as for any other mode (the MN paper's Alg. 1).
        Assign(layer.GateBias, 15, -15);
        var reference = ReferenceFor(Shape, 2);
        var input = RandomInput(generator, Shape, scale: 2, offset: 1);
        var gates = reference.Gates(Values(input), Values(layer.GateWeight), Values(layer.GateBias));
        Assert.InRange(Enumerable.Range(0, 5).Sum(n => gates[n, 1]), 1e-20, 1e-12);
        var expected = reference.Train(Values(input), Values(layer.GateWeight), Values(layer.GateBias), Values(layer.Weight), Values(layer.Bias));
        Expect.Close(expected, layer.forward(input), 1e-10, 1e-10, Shape);
        Expect.Close(Row(reference.RunningMean), Buffer(layer, "running_mean"), 1e-12, 1e-10);
        Expect.Close(Row(reference.RunningMeanSquare), Buffer(layer, "running_mean_square"), 1e-12, 1e-10);
    }

    [Theory]
    [InlineData(ScalarType.Float32, 2)]
    [InlineData(ScalarType.Float64, 2)]
    [InlineData(ScalarType.Float32, 3)]
    [InlineData(ScalarType.Float64, 3)]
    public void CollapsedModesStayFiniteAndLeaveBatchNorm(ScalarType type, int modes)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(140);
        using var layer = WithRandomAffine(new ModeNorm(3, modes, Eps, Momentum), generator);
        layer.to(type);
        // Every example goes to mode 0: the other modes get a weight sum of ~0 (exactly 0 in float32).
        Assign(layer.GateWeight, new double[3 * modes]);
        Assign(layer.GateBias, [100, .. Enumerable.Repeat(-100.0, modes - 1)]);
        var input = RandomInput(generator, Shape, scale: 2, offset: 1, type: type);
        var weights = RandomInput(generator, Shape, type: type);

        var x = Leaf(input);
        var y = layer.forward(x);
        y.mul(weights).sum().backward();
        var gamma = Leaf(layer.Weight);
        var beta = Leaf(layer.Bias);
        var bnInput = Leaf(input);
        var expected = nn.functional.batch_norm(bnInput, null, null, gamma, beta, training: true, eps: Eps);
        expected.mul(weights).sum().backward();

        var tolerance = type == ScalarType.Float64 ? 1e-10 : 1e-4;
        AssertClose(expected, y, tolerance, tolerance);
        AssertClose(bnInput.grad!, x.grad!, tolerance, tolerance);
        foreach (var (name, parameter) in layer.named_parameters())
            Assert.True(AllFinite(parameter.grad!), $"the gradient of {name} has NaN or infinite values");
        Assert.True(AllFinite(Buffer(layer, "running_mean")));
        Assert.True(AllFinite(Buffer(layer, "running_mean_square")));

        // The collapsed modes' running moments decay towards 0 (var 0); inference must stay finite too.
        TrainSteps(layer, generator, Shape, steps: 5);
        layer.eval();
        foreach (var alpha in new[] { 0.0, 0.5 })
        {
            layer.Alpha = alpha;
            var evalInput = Leaf(input);
            var evalOutput = layer.forward(evalInput);
            evalOutput.mul(weights).sum().backward();
            Assert.True(AllFinite(evalOutput) && AllFinite(evalInput.grad!), $"inference at alpha {alpha} is not finite");
        }
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.4)]
    public void EvaluationOfAnExampleDoesNotDependOnTheRestOfTheBatch(double alpha)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(150);
        using var layer = Layer(3, generator);
        TrainSteps(layer, generator, Shape);
        layer.eval();
        layer.Alpha = alpha;
        var batch = RandomInput(generator, Shape, scale: 2, offset: 1);
        var others = RandomInput(generator, Shape, scale: 5, offset: -3);
        var alone = layer.forward(batch.narrow(0, 2, 1));
        AssertClose(alone, layer.forward(batch).narrow(0, 2, 1), 1e-12, 1e-12);
        var mixed = cat([others.narrow(0, 0, 3), batch.narrow(0, 2, 1), others.narrow(0, 3, 2)]);
        AssertClose(alone, layer.forward(mixed).narrow(0, 3, 1), 1e-12, 1e-12);
    }

    [Fact]
    public void TrainingOnASingleValuePerChannelIsAClearError()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(160);
        using var layer = Layer(2, generator);
        var error = Assert.Throws<ArgumentException>(() => layer.forward(RandomInput(generator, [1, 3, 1, 1])));
        Assert.Contains("ModeNorm", error.Message);
        Assert.Contains("[1, 3, 1, 1]", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ModeNorm(3, modes: 0));
        var wrongChannels = Assert.Throws<ArgumentException>(() => layer.forward(RandomInput(generator, [2, 4, 2, 2])));
        Assert.Contains("ModeNorm", wrongChannels.Message);
    }
}
