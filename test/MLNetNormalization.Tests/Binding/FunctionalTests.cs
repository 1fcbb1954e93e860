using MLNetNormalization.TorchBinding.NN;

namespace MLNetNormalization.Tests.Binding;

/// <summary>Linear, convolution, pooling, softmax and losses against naive float64 loops in C#.</summary>
public class FunctionalTests
{
    private const double Tight = 1e-12;

    [Fact]
    public void LinearMatchesAHandLoop()
    {
        using var scope = Torch.NewDisposeScope();
        var x = TestData.Uniform(30, 12);   // (4, 3)
        var w = TestData.Uniform(31, 6);    // (2, 3)
        var b = TestData.Uniform(32, 2);
        var expected = new double[8];
        for (var n = 0; n < 4; n++)
            for (var o = 0; o < 2; o++)
            {
                expected[n * 2 + o] = b[o];
                for (var i = 0; i < 3; i++) expected[n * 2 + o] += x[n * 3 + i] * w[o * 3 + i];
            }
        var input = TestData.Float64(x, 4, 3);
        var weight = TestData.Float64(w, 2, 3);
        Expect.Close(expected, Functional.Linear(input, weight, TestData.Float64(b, 2)), Tight, 0, [4, 2]);
        var withoutBias = expected.Select((v, i) => v - b[i % 2]).ToArray();
        Expect.Close(withoutBias, Functional.Linear(input, weight), Tight, 0, [4, 2]);
    }

    /// <summary>Direct convolution: out[n,o,y,x] = b[o] + Σ in[n, g·cin+c, y·s - p + ky·d, x·s - p + kx·d] · w[o,c,ky,kx].</summary>
    private static double[] NaiveConv2d(double[] input, int[] inShape, double[] weight, int[] weightShape, double[] bias,
                                        (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups,
                                        out long[] outShape)
    {
        int n = inShape[0], cIn = inShape[1], h = inShape[2], w = inShape[3];
        int cOut = weightShape[0], cPerGroup = weightShape[1], kH = weightShape[2], kW = weightShape[3];
        Assert.Equal(cIn, cPerGroup * groups);
        var outH = (h + 2 * padding.H - dilation.H * (kH - 1) - 1) / stride.H + 1;
        var outW = (w + 2 * padding.W - dilation.W * (kW - 1) - 1) / stride.W + 1;
        outShape = [n, cOut, outH, outW];
        var output = new double[n * cOut * outH * outW];
        var outPerGroup = cOut / groups;
        for (var b = 0; b < n; b++)
            for (var o = 0; o < cOut; o++)
            {
                var group = o / outPerGroup;
                for (var y = 0; y < outH; y++)
                    for (var x = 0; x < outW; x++)
                    {
                        var sum = bias[o];
                        for (var c = 0; c < cPerGroup; c++)
                            for (var ky = 0; ky < kH; ky++)
                                for (var kx = 0; kx < kW; kx++)
                                {
                                    var iy = y * stride.H - padding.H + ky * dilation.H;
                                    var ix = x * stride.W - padding.W + kx * dilation.W;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                    var channel = group * cPerGroup + c;
                                    sum += input[((b * cIn + channel) * h + iy) * w + ix] * weight[((o * cPerGroup + c) * kH + ky) * kW + kx];
                                }
                        output[((b * cOut + o) * outH + y) * outW + x] = sum;
                    }
            }
        return output;
    }

    [Theory]
    [InlineData(1, 1, 0, 0, 1, 1, 1)]
    [InlineData(2, 1, 1, 0, 1, 1, 1)]
    [InlineData(1, 2, 1, 2, 1, 1, 1)]
    [InlineData(1, 1, 2, 1, 2, 2, 1)]
    [InlineData(1, 1, 1, 1, 1, 1, 2)]
    [InlineData(2, 2, 2, 1, 2, 1, 4)]
    public void Conv2dMatchesANaiveLoop(int strideH, int strideW, int padH, int padW, int dilationH, int dilationW, int groups)
    {
        using var scope = Torch.NewDisposeScope();
        int[] inShape = [2, 4, 7, 6];
        int[] weightShape = [8, 4 / groups, 3, 2];   // a non-square kernel catches swapped axes
        var input = TestData.Uniform(33, inShape.Aggregate(1, (a, b) => a * b));
        var weight = TestData.Uniform(34, weightShape.Aggregate(1, (a, b) => a * b));
        var bias = TestData.Uniform(35, 8);

        var expected = NaiveConv2d(input, inShape, weight, weightShape, bias, (strideH, strideW), (padH, padW),
                                   (dilationH, dilationW), groups, out var outShape);
        var actual = Functional.Conv2d(TestData.Float64(input, inShape.Select(s => (long)s).ToArray()),
                                       TestData.Float64(weight, weightShape.Select(s => (long)s).ToArray()),
                                       TestData.Float64(bias, 8), (strideH, strideW), (padH, padW), (dilationH, dilationW), groups);
        Expect.Close(expected, actual, Tight, 0, outShape);
    }

    [Fact]
    public void Conv2dModuleAppliesItsOwnWeightAndBias()
    {
        using var scope = Torch.NewDisposeScope();
        using var conv = new Conv2d(2, 4, 3, stride: 2, padding: 1);
        using var generator = new Generator(36);
        // Seeded values rather than the global generator's (other test classes draw from it concurrently).
        Init.Uniform(conv.Weight, -1, 1, generator);
        Init.Uniform(conv.Bias!, -1, 1, generator);
        var input = Torch.Randn([1, 2, 5, 5], generator);
        var expected = Functional.Conv2d(input, conv.Weight, conv.Bias, (2, 2), (1, 1));
        var actual = conv.Forward(input);
        Assert.Equal([1L, 4, 3, 3], actual.Shape);
        Assert.True(expected.Equal(actual));
    }

    private enum PoolKind { Max, Average, AverageOfValidOnly }

    /// <summary>Floor-mode pooling over (n, c, h, w); padding counts as -∞ for max and as 0 (in or out of the divisor) for the average.</summary>
    private static double[] NaivePool2d(double[] input, int[] shape, PoolKind kind, (int H, int W) kernel, (int H, int W) stride,
                                        (int H, int W) padding, out long[] outShape)
    {
        int planes = shape[0] * shape[1], h = shape[2], w = shape[3];
        var outH = (h + 2 * padding.H - kernel.H) / stride.H + 1;
        var outW = (w + 2 * padding.W - kernel.W) / stride.W + 1;
        outShape = [shape[0], shape[1], outH, outW];
        var output = new double[planes * outH * outW];
        for (var p = 0; p < planes; p++)
            for (var y = 0; y < outH; y++)
                for (var x = 0; x < outW; x++)
                {
                    var max = double.NegativeInfinity;
                    double sum = 0;
                    var count = 0;
                    for (var ky = 0; ky < kernel.H; ky++)
                        for (var kx = 0; kx < kernel.W; kx++)
                        {
                            var iy = y * stride.H - padding.H + ky;
                            var ix = x * stride.W - padding.W + kx;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                            var v = input[(p * h + iy) * w + ix];
                            max = Math.Max(max, v);
                            sum += v;
                            count++;
                        }
                    output[(p * outH + y) * outW + x] = kind switch
                    {
                        PoolKind.Max => max,
                        PoolKind.Average => sum / (kernel.H * kernel.W),
                        _ => sum / count,
                    };
                }
        return output;
    }

    [Fact]
    public void MaxPool2dOfAKnownImage()
    {
        using var scope = Torch.NewDisposeScope();
        var image = TestData.Float64([1, 5, 2, 0, 3, 4, 8, 1, 0, 2, 6, 7, 9, 1, 3, 2], 1, 1, 4, 4);
        Expect.Close([5, 8, 9, 7], Functional.MaxPool2d(image, (2, 2)), 0, 0, [1, 1, 2, 2]);
        Expect.Close([5, 8, 8, 4, 8, 8, 9, 6, 7], Functional.MaxPool2d(image, (2, 2), (1, 1)), 0, 0, [1, 1, 3, 3]);
    }

    [Theory]
    [InlineData(2, 2, 2, 2, 0, 0)]
    [InlineData(3, 3, 2, 2, 1, 1)]
    [InlineData(3, 2, 1, 2, 1, 0)]
    public void MaxAndAvgPool2dMatchANaiveLoop(int kernelH, int kernelW, int strideH, int strideW, int padH, int padW)
    {
        using var scope = Torch.NewDisposeScope();
        int[] shape = [2, 3, 6, 7];
        var values = TestData.Uniform(37, 2 * 3 * 6 * 7, -5, 5);
        var input = TestData.Float64(values, 2, 3, 6, 7);
        (int, int) kernel = (kernelH, kernelW), stride = (strideH, strideW), padding = (padH, padW);

        var max = NaivePool2d(values, shape, PoolKind.Max, kernel, stride, padding, out var outShape);
        Expect.Close(max, Functional.MaxPool2d(input, kernel, stride, padding), 0, 0, outShape);
        var average = NaivePool2d(values, shape, PoolKind.Average, kernel, stride, padding, out _);
        Expect.Close(average, Functional.AvgPool2d(input, kernel, stride, padding), Tight, 0, outShape);
        var validAverage = NaivePool2d(values, shape, PoolKind.AverageOfValidOnly, kernel, stride, padding, out _);
        Expect.Close(validAverage, Functional.AvgPool2d(input, kernel, stride, padding, countIncludePad: false), Tight, 0, outShape);
    }

    [Fact]
    public void AvgPool2dOfAKnownImage()
    {
        using var scope = Torch.NewDisposeScope();
        var image = TestData.Float64([1, 5, 2, 0, 3, 4, 8, 1, 0, 2, 6, 7, 9, 1, 3, 2], 1, 1, 4, 4);
        Expect.Close([13 / 4.0, 11 / 4.0, 12 / 4.0, 18 / 4.0], Functional.AvgPool2d(image, (2, 2)), Tight, 0, [1, 1, 2, 2]);
    }

    [Fact]
    public void AdaptiveAvgPool2dAveragesOverlappingBins()
    {
        using var scope = Torch.NewDisposeScope();
        int h = 5, w = 7, outH = 2, outW = 3;
        var values = TestData.Uniform(38, 2 * h * w);
        var expected = new List<double>();
        for (var p = 0; p < 2; p++)
            for (var y = 0; y < outH; y++)
                for (var x = 0; x < outW; x++)
                {
                    // Bin i covers [floor(i·H/out), ceil((i+1)·H/out)).
                    int y0 = y * h / outH, y1 = ((y + 1) * h + outH - 1) / outH;
                    int x0 = x * w / outW, x1 = ((x + 1) * w + outW - 1) / outW;
                    double sum = 0;
                    for (var iy = y0; iy < y1; iy++)
                        for (var ix = x0; ix < x1; ix++)
                            sum += values[(p * h + iy) * w + ix];
                    expected.Add(sum / ((y1 - y0) * (x1 - x0)));
                }
        var input = TestData.Float64(values, 1, 2, h, w);
        Expect.Close(expected, Functional.AdaptiveAvgPool2d(input, (outH, outW)), Tight, 0, [1, 2, outH, outW]);
        // A 1x1 output is the global average.
        Expect.Close([values.Take(35).Average(), values.Skip(35).Average()], Functional.AdaptiveAvgPool2d(input, (1, 1)), Tight, 0, [1, 2, 1, 1]);
    }

    [Fact]
    public void DropoutInEvaluationIsTheIdentity()
    {
        using var scope = Torch.NewDisposeScope();
        var x = TestData.Float64(TestData.Uniform(39, 100), 10, 10);
        Assert.True(x.Equal(Functional.Dropout(x, 0.5, training: false)));
    }

    private static double[] SoftmaxRows(double[] logits, int rows, int columns, bool log)
    {
        var result = new double[logits.Length];
        for (var r = 0; r < rows; r++)
        {
            var row = logits.Skip(r * columns).Take(columns).ToArray();
            var max = row.Max();
            var logSum = max + Math.Log(row.Sum(v => Math.Exp(v - max)));
            for (var c = 0; c < columns; c++)
                result[r * columns + c] = log ? row[c] - logSum : Math.Exp(row[c] - logSum);
        }
        return result;
    }

    private static double[] Transpose(double[] values, int rows, int columns) =>
        Enumerable.Range(0, values.Length).Select(i => values[(i % rows) * columns + i / rows]).ToArray();

    [Fact]
    public void SoftmaxAndLogSoftmaxMatchFloat64()
    {
        using var scope = Torch.NewDisposeScope();
        var logits = TestData.Uniform(40, 15, -10, 10);
        logits[0] = 500;   // exp(500) overflows float64 unless the maximum is subtracted first
        var x = TestData.Float64(logits, 3, 5);

        Expect.Close(SoftmaxRows(logits, 3, 5, log: false), Functional.Softmax(x, 1), 1e-15, 1e-13, [3, 5]);
        Expect.Close(SoftmaxRows(logits, 3, 5, log: true), Functional.LogSoftmax(x, -1), 1e-13, 1e-13, [3, 5]);
        // Over dimension 0: the softmax of each column.
        var columns = Transpose(SoftmaxRows(Transpose(logits, 3, 5), 5, 3, log: true), 5, 3);
        Expect.Close(columns, Functional.LogSoftmax(x, 0), 1e-13, 1e-13, [3, 5]);
        Expect.Close([1, 1, 1], Functional.Softmax(x, 1).Sum([1]), 1e-15);
    }

    private static readonly double[] Logits = TestData.Uniform(41, 20, -3, 3);   // (4 examples, 5 classes)
    private static readonly long[] Targets = [3, 0, 4, 3];

    /// <summary>Per-example (1 - ε)·(-log p[target]) + ε·mean over classes of -log p.</summary>
    private static double[] CrossEntropyPerExample(double smoothing)
    {
        var logProbabilities = SoftmaxRows(Logits, 4, 5, log: true);
        return Enumerable.Range(0, 4).Select(n =>
        {
            var row = logProbabilities.Skip(n * 5).Take(5).ToArray();
            return (1 - smoothing) * -row[Targets[n]] + smoothing * row.Average(v => -v);
        }).ToArray();
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    [InlineData(0.35)]
    public void CrossEntropyMatchesItsFormula(double smoothing)
    {
        using var scope = Torch.NewDisposeScope();
        var logits = TestData.Float64(Logits, 4, 5);
        var targets = TestData.Int64(Targets, 4);
        var perExample = CrossEntropyPerExample(smoothing);

        Expect.Close(perExample.Average(), Functional.CrossEntropy(logits, targets, labelSmoothing: smoothing).Item<double>(), Tight);
        Expect.Close(perExample.Sum(), Functional.CrossEntropy(logits, targets, reduction: Reduction.Sum, labelSmoothing: smoothing).Item<double>(), Tight);
        Expect.Close(perExample, Functional.CrossEntropy(logits, targets, reduction: Reduction.None, labelSmoothing: smoothing), Tight, 0, [4]);
    }

    [Fact]
    public void CrossEntropyWithClassWeightsIsAWeightedMean()
    {
        using var scope = Torch.NewDisposeScope();
        double[] classWeights = [0.5, 1, 2, 3, 0.25];
        var nll = CrossEntropyPerExample(0);
        var weights = Targets.Select(t => classWeights[t]).ToArray();
        var expected = nll.Zip(weights, (l, w) => l * w).Sum() / weights.Sum();
        var loss = Functional.CrossEntropy(TestData.Float64(Logits, 4, 5), TestData.Int64(Targets, 4), TestData.Float64(classWeights, 5));
        Expect.Close(expected, loss.Item<double>(), Tight);
    }

    [Fact]
    public void CrossEntropySkipsTheIgnoredIndex()
    {
        using var scope = Torch.NewDisposeScope();
        var nll = CrossEntropyPerExample(0);
        var targets = TestData.Int64([3, -100, 4, -100], 4);
        var loss = Functional.CrossEntropy(TestData.Float64(Logits, 4, 5), targets);
        Expect.Close((nll[0] + nll[2]) / 2, loss.Item<double>(), Tight);
        var perExample = Functional.CrossEntropy(TestData.Float64(Logits, 4, 5), targets, reduction: Reduction.None);
        Expect.Close([nll[0], 0, nll[2], 0], perExample, Tight);
    }

    [Fact]
    public void NllLossOfLogSoftmaxIsCrossEntropy()
    {
        using var scope = Torch.NewDisposeScope();
        var logProbabilities = Functional.LogSoftmax(TestData.Float64(Logits, 4, 5), 1);
        var targets = TestData.Int64(Targets, 4);
        var nll = CrossEntropyPerExample(0);
        Expect.Close(nll.Average(), Functional.NllLoss(logProbabilities, targets).Item<double>(), Tight);
        Expect.Close(nll.Sum(), Functional.NllLoss(logProbabilities, targets, Reduction.Sum).Item<double>(), Tight);
        Expect.Close(nll, Functional.NllLoss(logProbabilities, targets, Reduction.None), Tight);
    }

    [Fact]
    public void ParameterFreeLayersApplyTheirFunctions()
    {
        using var scope = Torch.NewDisposeScope();
        var image = TestData.Float64([1, -5, 2, 0, 3, 4, -8, 1, 0, 2, 6, 7, 9, -1, 3, 2], 1, 1, 4, 4);
        Expect.Close([1, 0, 2, 0, 3, 4, 0, 1, 0, 2, 6, 7, 9, 0, 3, 2], new ReLU().Forward(image), 0, 0, [1, 1, 4, 4]);
        Expect.Close([4, 2, 9, 7], new MaxPool2d(2).Forward(image), 0, 0, [1, 1, 2, 2]);
        Expect.Close([6, 7, 9, 7], new MaxPool2d(3, stride: 1).Forward(image), 0, 0, [1, 1, 2, 2]);
        Expect.Close([26 / 16.0], new AdaptiveAvgPool2d(1, 1).Forward(image), Tight, 0, [1, 1, 1, 1]);
        Assert.Equal([1L, 16], new Flatten().Forward(image).Shape);
    }
}
