using MLNetNormalization.Normalization;
using MLNetNormalization.Tests.Support;
using static MLNetNormalization.Tests.Normalization.NormalizationTestSupport;

namespace MLNetNormalization.Tests.Normalization;

/// <summary>
/// Mode group normalization (docs/normalizers.md, section 2; the MN paper's Alg. 3 and eq. 5) against an independent float64
/// reference in plain loops, and against libtorch's group_norm / layer_norm for K = 1. The gate
/// parameters are set explicitly, so no test depends on the global generator.
/// </summary>
public class ModeGroupNormTests
{
    private const double Eps = 1e-5;
    private const double Momentum = 0.1;
    private static readonly long[] Shape = [3, 4, 2, 3];

    /// <summary>
    /// MGN as docs/normalizers.md defines it, in plain arrays, x NCHW row-major: g[n,c,k] = softmax_k(a_k·m[n,c] + b_k); per (n, k)
    /// the gate-weighted mean and biased variance over all pixels of the example's channels (taken from
    /// the pixels, not by pooling cell moments); y = gamma[c]/K·Σ_k (x - mu[n,k])/sqrt(var[n,k] + eps) + beta[c],
    /// or gamma[c]·Σ_k g[n,c,k]·(...) + beta[c] for the gate-weighted output.
    /// </summary>
    private sealed class Reference(double[] x, long[] shape, int modes)
    {
        private readonly PixelSetReference cells = new(x, (int)shape[0], (int)shape[1], (int)shape[2], (int)shape[3]);

        private int N => cells.N;
        private int C => cells.C;
        private int L => cells.L;

        public double[,,] Gates(double[] a, double[] b)
        {
            var (mean, _) = cells.CellStatistics(cells.Instance);
            var gates = new double[N, C, modes];
            for (var n = 0; n < N; n++)
                for (var c = 0; c < C; c++)
                {
                    var logits = Enumerable.Range(0, modes).Select(k => a[k] * mean[n * C + c] + b[k]).ToArray();
                    var max = logits.Max();
                    var total = logits.Sum(v => Math.Exp(v - max));
                    for (var k = 0; k < modes; k++) gates[n, c, k] = Math.Exp(logits[k] - max) / total;
                }
            return gates;
        }

        /// <summary>Per (n, k): Σ_c g Σ_hw x / (L Σ_c g) and Σ_c g Σ_hw (x - mu)² / (L Σ_c g).</summary>
        public (double[,] Mean, double[,] Var) ModeStatistics(double[,,] gates)
        {
            var mean = new double[N, modes];
            var var = new double[N, modes];
            for (var n = 0; n < N; n++)
                for (var k = 0; k < modes; k++)
                {
                    double weight = 0, sum = 0, squares = 0;
                    for (var c = 0; c < C; c++)
                    {
                        weight += gates[n, c, k] * L;
                        for (var p = 0; p < L; p++) sum += gates[n, c, k] * x[(n * C + c) * L + p];
                    }
                    mean[n, k] = sum / weight;
                    for (var c = 0; c < C; c++)
                        for (var p = 0; p < L; p++) squares += gates[n, c, k] * Math.Pow(x[(n * C + c) * L + p] - mean[n, k], 2);
                    var[n, k] = squares / weight;
                }
            return (mean, var);
        }

        /// <summary>
        /// alpha &lt; 1: the per-channel running moments pooled over the channels with the example's gates
        /// (docs/normalizers.md's "averages over its channels", weighted as the set is), mixed with the example's own.
        /// </summary>
        public (double[,] Mean, double[,] Var) MixWithRunning((double[,] Mean, double[,] Var) example, double[,,] gates,
                                                               double[] runningMean, double[] runningVar, double alpha)
        {
            var mean = new double[N, modes];
            var var = new double[N, modes];
            for (var n = 0; n < N; n++)
                for (var k = 0; k < modes; k++)
                {
                    double weight = 0, setMean = 0, setSecondMoment = 0;
                    for (var c = 0; c < C; c++)
                    {
                        weight += gates[n, c, k];
                        setMean += gates[n, c, k] * runningMean[c];
                        setSecondMoment += gates[n, c, k] * (runningVar[c] + runningMean[c] * runningMean[c]);
                    }
                    setMean /= weight;
                    var setVar = setSecondMoment / weight - setMean * setMean;
                    (mean[n, k], var[n, k]) = PixelSetReference.Mix(alpha, example.Mean[n, k], example.Var[n, k], setMean, setVar);
                }
            return (mean, var);
        }

        public double[] Output(double[,,] gates, (double[,] Mean, double[,] Var) statistics, double[] gamma, double[] beta, bool gateWeighted)
        {
            var y = new double[x.Length];
            for (var n = 0; n < N; n++)
                for (var c = 0; c < C; c++)
                    for (var p = 0; p < L; p++)
                    {
                        var index = (n * C + c) * L + p;
                        double sum = 0;
                        for (var k = 0; k < modes; k++)
                        {
                            var weight = gateWeighted ? gates[n, c, k] : 1.0 / modes;
                            sum += weight * (x[index] - statistics.Mean[n, k]) / Math.Sqrt(statistics.Var[n, k] + Eps);
                        }
                        y[index] = gamma[c] * sum + beta[c];
                    }
            return y;
        }

        public double[] Output(double[] a, double[] b, double[] gamma, double[] beta, bool gateWeighted)
        {
            var gates = Gates(a, b);
            return Output(gates, ModeStatistics(gates), gamma, beta, gateWeighted);
        }

        /// <summary>Per-channel running mean and var as BN (var unbiased by N·L).</summary>
        public void UpdateRunning(double[] runningMean, double[] runningVar) =>
            cells.UpdateRunning(PixelSetReference.Batch, runningMean, runningVar, Momentum);
    }

    private static ModeGroupNorm Layer(int modes, bool gateWeighted, Generator generator, long channels = 4)
    {
        var layer = InFloat64(new ModeGroupNorm(channels, modes, gateWeighted, Eps, Momentum));
        WithRandomAffine(layer, generator);
        using var scope = NewDisposeScope();
        // Scales of both signs, so that channels with different means lean to different modes.
        Assign(layer.GateScale, TestData.Values(randn([modes], ScalarType.Float64, generator: generator).mul(1.5)));
        Assign(layer.GateShift, TestData.Values(randn([modes], ScalarType.Float64, generator: generator).mul(0.5)));
        return layer;
    }

    private static double[] Values(Tensor tensor) => TestData.Values(tensor);

    private static bool AllFinite(Tensor tensor) => tensor.isfinite().all().item<bool>();

    [Theory]
    [InlineData(2, false)]
    [InlineData(3, false)]
    [InlineData(2, true)]
    [InlineData(3, true)]
    public void TrainingMatchesTheReferenceAndKeepsPerChannelRunningMoments(int modes, bool gateWeighted)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(200 + (ulong)(modes * 2) + (gateWeighted ? 1UL : 0));
        using var layer = Layer(modes, gateWeighted, generator);
        var (a, b, gamma, beta) = (Values(layer.GateScale), Values(layer.GateShift), Values(layer.Weight), Values(layer.Bias));
        double[] runningMean = [0, 0, 0, 0], runningVar = [1, 1, 1, 1];
        for (var step = 0; step < 3; step++)
        {
            var input = RandomInput(generator, Shape, scale: 1 + step, offset: step - 1, channelSpread: 1);
            var reference = new Reference(Values(input), Shape, modes);
            var gates = reference.Gates(a, b).Cast<double>().ToArray();
            Assert.True(gates.Max() - gates.Min() > 0.2, "the gates should differ between channels and modes");
            Expect.Close(reference.Output(a, b, gamma, beta, gateWeighted), layer.forward(input), 1e-10, 1e-10, Shape);
            reference.UpdateRunning(runningMean, runningVar);
        }
        Expect.Close(runningMean, Buffer(layer, "running_mean"), 1e-12, 1e-10);
        Expect.Close(runningVar, Buffer(layer, "running_var"), 1e-12, 1e-10);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void OneModeEqualsGroupNormOfOneGroupAndLayerNormWithPerChannelAffine(bool gateWeighted)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(210);
        using var layer = Layer(1, gateWeighted, generator);
        var input = RandomInput(generator, Shape, scale: 2, offset: 3);
        var weights = RandomInput(generator, Shape);
        var gamma = Leaf(layer.Weight);
        var beta = Leaf(layer.Bias);

        var x = Leaf(input);
        var y = layer.forward(x);
        y.mul(weights).sum().backward();
        var groupInput = Leaf(input);
        var groupNorm = nn.functional.group_norm(groupInput, 1, gamma, beta, Eps);
        groupNorm.mul(weights).sum().backward();

        AssertClose(groupNorm, y, 1e-10, 1e-10);
        AssertClose(groupInput.grad!, x.grad!, 1e-10, 1e-10);
        AssertClose(gamma.grad!, layer.Weight.grad!, 1e-10, 1e-10);
        AssertClose(beta.grad!, layer.Bias.grad!, 1e-10, 1e-10);
        var layerNorm = nn.functional.layer_norm(input, [4, 2, 3], eps: Eps).mul(gamma.detach().view(1, 4, 1, 1)).add(beta.detach().view(1, 4, 1, 1));
        AssertClose(layerNorm, y, 1e-10, 1e-10);
    }

    [Theory]
    [InlineData(2, false)]
    [InlineData(3, true)]
    public void TrainingAndEvaluationAgreeAtTheDefaultAlpha(int modes, bool gateWeighted)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(220);
        using var layer = Layer(modes, gateWeighted, generator);
        Assert.Equal(1, layer.Alpha);
        TrainSteps(layer, generator, Shape);
        var input = RandomInput(generator, Shape, scale: 2, offset: -1);
        var training = layer.forward(input);
        layer.eval();
        AssertClose(training, layer.forward(input), 1e-13, 1e-13);
    }

    [Theory]
    [InlineData(2, false, 0.3)]
    [InlineData(3, true, 0.0)]
    [InlineData(2, true, 0.6)]
    public void EvaluationWithExampleWeighingMatchesTheReference(int modes, bool gateWeighted, double alpha)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(225);
        using var layer = Layer(modes, gateWeighted, generator);
        TrainSteps(layer, generator, Shape, steps: 4);
        layer.eval();
        layer.Alpha = alpha;
        var input = RandomInput(generator, Shape, scale: 1.5, offset: 2, channelSpread: 1);
        var reference = new Reference(Values(input), Shape, modes);
        var gates = reference.Gates(Values(layer.GateScale), Values(layer.GateShift));
        var statistics = reference.MixWithRunning(reference.ModeStatistics(gates), gates,
            Values(Buffer(layer, "running_mean")), Values(Buffer(layer, "running_var")), alpha);
        Expect.Close(reference.Output(gates, statistics, Values(layer.Weight), Values(layer.Bias), gateWeighted),
                     layer.forward(input), 1e-10, 1e-10, Shape);
    }

    [Theory]
    [InlineData(2, false, true, 1.0)]
    [InlineData(3, true, true, 1.0)]
    [InlineData(2, false, false, 0.5)]
    [InlineData(2, true, false, 0.3)]
    public void GradientsMatchFiniteDifferences(int modes, bool gateWeighted, bool training, double alpha)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(230 + (ulong)(modes * 4) + (gateWeighted ? 1UL : 0) + (training ? 2UL : 0));
        long[] shape = [2, 4, 2, 2];
        using var layer = Layer(modes, gateWeighted, generator);
        TrainSteps(layer, generator, shape);
        layer.train(training);
        layer.Alpha = alpha;
        AssertLayerGradientsMatch(layer, RandomInput(generator, shape, scale: 1.5, offset: 0.5, channelSpread: 1),
                                  ["weight", "bias", "gate_scale", "gate_shift"]);
    }

    [Theory]
    [InlineData(false, ScalarType.Float64)]
    [InlineData(true, ScalarType.Float64)]
    [InlineData(false, ScalarType.Float32)]
    [InlineData(true, ScalarType.Float32)]
    public void CollapsedModesStayFiniteAndKeepTheirPooledStatistics(bool gateWeighted, ScalarType type)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(240);
        using var layer = Layer(3, gateWeighted, generator);
        layer.to(type);
        // Every channel goes to mode 0. With gates that do not depend on the channel, each mode pools all the
        // channels alike (however small its weights are), so each mode's statistics are the example's: MGN = LN.
        Assign(layer.GateScale, 0, 0, 0);
        Assign(layer.GateShift, 100, -100, -100);
        var input = RandomInput(generator, Shape, scale: 2, offset: 1, type: type);
        var weights = RandomInput(generator, Shape, type: type);
        var x = Leaf(input);
        var y = layer.forward(x);
        y.mul(weights).sum().backward();
        Assert.True(AllFinite(y) && AllFinite(x.grad!));
        foreach (var (name, parameter) in layer.named_parameters())
            Assert.True(AllFinite(parameter.grad!), $"the gradient of {name} has NaN or infinite values");
        var tolerance = type == ScalarType.Float64 ? 1e-10 : 1e-4;
        AssertClose(nn.functional.group_norm(input, 1, layer.Weight.detach(), layer.Bias.detach(), Eps), y, tolerance, tolerance);

        // Gates that depend on the channel, one mode almost empty (weights ~e^-60): the float64 reference.
        Assign(layer.GateScale, 20, -20, 0);
        Assign(layer.GateShift, 0, 0, -40);
        var reference = new Reference(Values(input), Shape, 3);
        var expected = reference.Output(Values(layer.GateScale), Values(layer.GateShift), Values(layer.Weight), Values(layer.Bias), gateWeighted);
        Expect.Close(expected, layer.forward(input), tolerance, tolerance, Shape);
    }

    [Fact]
    public void EvaluationWithExampleWeighingDoesNotDependOnTheRestOfTheBatch()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(250);
        using var layer = Layer(2, false, generator);
        TrainSteps(layer, generator, Shape);
        layer.eval();
        layer.Alpha = 0.3;
        var batch = RandomInput(generator, Shape, scale: 2, offset: 1);
        var others = RandomInput(generator, Shape, scale: 4, offset: -2);
        var alone = layer.forward(batch.narrow(0, 1, 1));
        AssertClose(alone, layer.forward(batch).narrow(0, 1, 1), 1e-12, 1e-12);
        AssertClose(alone, layer.forward(cat([others, batch.narrow(0, 1, 1)])).narrow(0, 3, 1), 1e-12, 1e-12);
    }

    [Fact]
    public void TrainingOnOneExampleOfOnePixelKeepsTheRunningMomentsFinite()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(260);
        using var layer = Layer(2, false, generator);
        // Per example the set holds C = 4 values, so this batch is valid for MGN; its per-channel batch
        // variance rests on one value each, which must not turn the running variance into NaN.
        var output = layer.forward(RandomInput(generator, [1, 4, 1, 1]));
        Assert.True(AllFinite(output));
        Assert.True(AllFinite(Buffer(layer, "running_mean")));
        Assert.True(AllFinite(Buffer(layer, "running_var")));
    }

    [Fact]
    public void BadInputIsAClearError()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(270);
        using var layer = Layer(2, false, generator);
        using var oneChannel = Layer(2, false, generator, channels: 1);
        var single = Assert.Throws<ArgumentException>(() => oneChannel.forward(RandomInput(generator, [2, 1, 1, 1])));
        Assert.Contains("ModeGroupNorm", single.Message);
        Assert.Contains("[2, 1, 1, 1]", single.Message);
        var channels = Assert.Throws<ArgumentException>(() => layer.forward(RandomInput(generator, [2, 3, 2, 2])));
        Assert.Contains("4 channels", channels.Message);
        var rank = Assert.Throws<ArgumentException>(() => layer.forward(zeros([2, 4], ScalarType.Float64)));
        Assert.Contains("ModeGroupNorm", rank.Message);
        Assert.Contains("4D", rank.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ModeGroupNorm(4, modes: 0));
    }
}
