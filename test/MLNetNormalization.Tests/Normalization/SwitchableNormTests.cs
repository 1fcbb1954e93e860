using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Support;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>Switchable normalization (docs/normalizers.md, section 2, baselines) against an independent float64 reference in plain loops.</summary>
public class SwitchableNormTests
{
    private const double Eps = 1e-5;
    private const double Momentum = 0.1;
    private static readonly long[] Shape = [4, 3, 2, 3];

    /// <summary>
    /// SN as its reference code computes it, x NCHW row-major: IN mean and unbiased var (÷ (L - 1)) per cell;
    /// LN and BN from the IN moments as mean of means and mean of (var + mean²) minus the pooled mean²;
    /// mean = Σ softmax(mean logits)_i·mu_i, var = Σ softmax(var logits)_i·var_i over (IN, LN, BN).
    /// </summary>
    private sealed class Reference(int n, int c, int l)
    {
        public double[] RunningMean { get; } = new double[c];
        public double[] RunningVar { get; } = Enumerable.Repeat(1.0, c).ToArray();

        private (double[] Mean, double[] Var) Instance(double[] x)
        {
            var mean = new double[n * c];
            var var = new double[n * c];
            for (var cell = 0; cell < n * c; cell++)
            {
                for (var p = 0; p < l; p++) mean[cell] += x[cell * l + p];
                mean[cell] /= l;
                for (var p = 0; p < l; p++) var[cell] += Math.Pow(x[cell * l + p] - mean[cell], 2);
                var[cell] /= l - 1;
            }
            return (mean, var);
        }

        private static double[] Softmax(double[] logits)
        {
            var exp = logits.Select(v => Math.Exp(v - logits.Max())).ToArray();
            return exp.Select(v => v / exp.Sum()).ToArray();
        }

        /// <param name="batchPart">the BN part per channel, or null for the batch's own (training, which updates the running statistics)</param>
        public double[] Output(double[] x, double[] meanLogits, double[] varLogits, double[] gamma, double[] beta,
                               Func<double[], double[], (double[] Mean, double[] Var)>? batchPart = null)
        {
            var (inMean, inVar) = Instance(x);
            var lnMean = new double[n];
            var lnVar = new double[n];
            for (var i = 0; i < n; i++)
            {
                for (var j = 0; j < c; j++)
                {
                    lnMean[i] += inMean[i * c + j] / c;
                    lnVar[i] += (inVar[i * c + j] + inMean[i * c + j] * inMean[i * c + j]) / c;
                }
                lnVar[i] -= lnMean[i] * lnMean[i];
            }
            double[] bnMean, bnVar;
            if (batchPart is null)
            {
                bnMean = new double[c];
                bnVar = new double[c];
                for (var j = 0; j < c; j++)
                {
                    for (var i = 0; i < n; i++)
                    {
                        bnMean[j] += inMean[i * c + j] / n;
                        bnVar[j] += (inVar[i * c + j] + inMean[i * c + j] * inMean[i * c + j]) / n;
                    }
                    bnVar[j] -= bnMean[j] * bnMean[j];
                    RunningMean[j] = (1 - Momentum) * RunningMean[j] + Momentum * bnMean[j];
                    RunningVar[j] = (1 - Momentum) * RunningVar[j] + Momentum * bnVar[j];
                }
                bnMean = Enumerable.Range(0, n * c).Select(cell => bnMean[cell % c]).ToArray();
                bnVar = Enumerable.Range(0, n * c).Select(cell => bnVar[cell % c]).ToArray();
            }
            else
            {
                (bnMean, bnVar) = batchPart(inMean, inVar);
            }
            var meanWeights = Softmax(meanLogits);
            var varWeights = Softmax(varLogits);
            var y = new double[x.Length];
            for (var cell = 0; cell < n * c; cell++)
            {
                var mean = meanWeights[0] * inMean[cell] + meanWeights[1] * lnMean[cell / c] + meanWeights[2] * bnMean[cell];
                var var = varWeights[0] * inVar[cell] + varWeights[1] * lnVar[cell / c] + varWeights[2] * bnVar[cell];
                for (var p = 0; p < l; p++)
                    y[cell * l + p] = gamma[cell % c] * (x[cell * l + p] - mean) / Math.Sqrt(var + Eps) + beta[cell % c];
            }
            return y;
        }

        /// <summary>Inference: the BN part is the running statistics mixed per cell with the IN moments by alpha.</summary>
        public double[] Evaluate(double[] x, double[] meanLogits, double[] varLogits, double[] gamma, double[] beta, double alpha) =>
            Output(x, meanLogits, varLogits, gamma, beta, (inMean, inVar) =>
            {
                var mixed = inMean.Select((m, cell) => PixelSetReference.Mix(alpha, m, inVar[cell], RunningMean[cell % c], RunningVar[cell % c])).ToArray();
                return (mixed.Select(s => s.Mean).ToArray(), mixed.Select(s => s.Var).ToArray());
            });
    }

    private static SwitchableNorm Layer(Generator generator, double[]? meanLogits = null, double[]? varLogits = null)
    {
        var layer = WithRandomAffine(InFloat64(new SwitchableNorm(3, Eps, Momentum)), generator);
        using var scope = NewDisposeScope();
        Assign(layer.MeanLogits, meanLogits ?? TestData.Values(randn([3], ScalarType.Float64, generator: generator)));
        Assign(layer.VarLogits, varLogits ?? TestData.Values(randn([3], ScalarType.Float64, generator: generator)));
        return layer;
    }

    private static Reference ReferenceFor(long[] shape) => new((int)shape[0], (int)shape[1], (int)(shape[2] * shape[3]));

    private static double[] Values(Tensor tensor) => TestData.Values(tensor);

    public static TheoryData<double[]?, double[]?> Logits => new()
    {
        { null, null },                                     // seeded random mixtures
        { [1, 1, 1], [1, 1, 1] },                           // the initial, equal weights
        { [-100, -100, 100], [-100, -100, 100] },           // the BN part alone
        { [100, -100, -100], [-100, 100, -100] },           // IN mean, LN var
    };

    [Theory]
    [MemberData(nameof(Logits))]
    public void TrainingMatchesTheReferenceAndUpdatesTheBatchPartsRunningStatistics(double[]? meanLogits, double[]? varLogits)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(300);
        using var layer = Layer(generator, meanLogits, varLogits);
        var reference = ReferenceFor(Shape);
        for (var step = 0; step < 3; step++)
        {
            var input = RandomInput(generator, Shape, scale: 1 + step, offset: 2 * step - 1);
            var expected = reference.Output(Values(input), Values(layer.MeanLogits), Values(layer.VarLogits), Values(layer.Weight), Values(layer.Bias));
            Expect.Close(expected, layer.forward(input), 1e-10, 1e-10, Shape);
        }
        Expect.Close(reference.RunningMean, Buffer(layer, "running_mean"), 1e-12, 1e-10);
        Expect.Close(reference.RunningVar, Buffer(layer, "running_var"), 1e-12, 1e-10);
    }

    [Fact]
    public void TheBatchPartPoolsUnbiasedInstanceVariancesSoItIsNotLibtorchBatchNorm()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(305);
        using var layer = Layer(generator, [-100, -100, 100], [-100, -100, 100]);
        var input = RandomInput(generator, Shape, scale: 2, offset: 1);
        var batchNorm = nn.functional.batch_norm(input, null, null, layer.Weight.detach(), layer.Bias.detach(), training: true, eps: Eps);
        var output = layer.forward(input);
        // The same per-channel mean as BN (so the outputs' channel means are both beta) ...
        Expect.Close(Values(layer.Bias), output.mean([0, 2, 3]), 1e-12);
        Expect.Close(Values(layer.Bias), batchNorm.mean([0, 2, 3]), 1e-12);
        // ... but a variance larger by the factor L/(L-1) on its within-cell part, so a different output.
        Assert.True(Values(output.sub(batchNorm).abs()).Max() > 1e-3);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.4)]
    [InlineData(1.0)]
    public void EvaluationUsesTheRunningStatisticsForTheBatchPart(double alpha)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(310);
        using var layer = Layer(generator);
        var reference = ReferenceFor(Shape);
        for (var step = 0; step < 3; step++)
        {
            var batch = RandomInput(generator, Shape, scale: 2, offset: 1 + step);
            reference.Output(Values(batch), Values(layer.MeanLogits), Values(layer.VarLogits), Values(layer.Weight), Values(layer.Bias));
            layer.forward(batch);
        }
        layer.eval();
        layer.Alpha = alpha;
        var input = RandomInput(generator, Shape, scale: 1.5, offset: -1);
        var expected = reference.Evaluate(Values(input), Values(layer.MeanLogits), Values(layer.VarLogits), Values(layer.Weight), Values(layer.Bias), alpha);
        Expect.Close(expected, layer.forward(input), 1e-10, 1e-10, Shape);
        Expect.Close(reference.RunningVar, Buffer(layer, "running_var"), 1e-12, 1e-10);
    }

    [Theory]
    [InlineData(true, 0.0)]
    [InlineData(false, 0.0)]
    [InlineData(false, 0.5)]
    public void GradientsMatchFiniteDifferences(bool training, double alpha)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(320);
        long[] shape = [3, 3, 2, 2];
        using var layer = Layer(generator);
        TrainSteps(layer, generator, shape);
        layer.train(training);
        layer.Alpha = alpha;
        AssertLayerGradientsMatch(layer, RandomInput(generator, shape, scale: 1.5, offset: 0.5),
                                  ["weight", "bias", "mean_logits", "var_logits"]);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    public void EvaluationOfAnExampleDoesNotDependOnTheRestOfTheBatch(double alpha)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(330);
        using var layer = Layer(generator);
        TrainSteps(layer, generator, Shape);
        layer.eval();
        layer.Alpha = alpha;
        var batch = RandomInput(generator, Shape, scale: 2, offset: 1);
        var others = RandomInput(generator, Shape, scale: 5, offset: 3);
        var alone = layer.forward(batch.narrow(0, 0, 1));
        AssertClose(alone, layer.forward(batch).narrow(0, 0, 1), 1e-12, 1e-12);
        AssertClose(alone, layer.forward(cat([others, batch.narrow(0, 0, 1)])).narrow(0, 4, 1), 1e-12, 1e-12);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void OnePixelPerChannelIsAClearError(bool training)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(340);
        using var layer = Layer(generator);
        layer.train(training);
        var error = Assert.Throws<ArgumentException>(() => layer.forward(RandomInput(generator, [4, 3, 1, 1])));
        Assert.Contains("SwitchableNorm", error.Message);
        Assert.Contains("[4, 3, 1, 1]", error.Message);
        Assert.Contains("larger feature maps", error.Message);
    }
}
