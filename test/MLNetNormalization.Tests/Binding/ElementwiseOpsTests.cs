namespace MLNetNormalization.Tests.Binding;

/// <summary>Element-wise arithmetic, comparisons and unary functions against float64 values computed in C#.</summary>
public class ElementwiseOpsTests
{
    // float32 results against float64 oracles fed the same (float32-rounded) inputs.
    private const double Relative = 1e-6;
    private const double Absolute = 1e-7;

    /// <summary>a is (2, 3); b is (3) and broadcasts over a's rows.</summary>
    private static (double[] A, double[] B) RowBroadcastOperands(double low = -2, double high = 2) =>
        (TestData.RoundToFloat32(TestData.Uniform(10, 6, low, high)), TestData.RoundToFloat32(TestData.Uniform(11, 3, low, high)));

    private static double[] Broadcast(double[] a, double[] b, Func<double, double, double> op) =>
        a.Select((x, i) => op(x, b[i % 3])).ToArray();

    [Fact]
    public void BinaryOpsBroadcastARowVector()
    {
        using var scope = Torch.NewDisposeScope();
        var (a, b) = RowBroadcastOperands();
        var ta = TestData.Float32(a, 2, 3);
        var tb = TestData.Float32(b, 3);
        Expect.Close(Broadcast(a, b, (x, y) => x + y), ta + tb, Absolute, Relative, [2, 3]);
        Expect.Close(Broadcast(a, b, (x, y) => x - y), ta - tb, Absolute, Relative, [2, 3]);
        Expect.Close(Broadcast(a, b, (x, y) => x * y), ta * tb, Absolute, Relative, [2, 3]);
        Expect.Close(Broadcast(a, b, (x, y) => x / y), ta / tb, Absolute, Relative, [2, 3]);
        Expect.Close(Broadcast(a, b, (x, y) => x + 2.5 * y), ta.Add(tb, 2.5), Absolute, Relative, [2, 3]);
        Expect.Close(Broadcast(a, b, (x, y) => x - 2.5 * y), ta.Sub(tb, 2.5), Absolute, Relative, [2, 3]);
        Expect.Close(Broadcast(a, b, Math.Max), ta.Maximum(tb), 0, 0, [2, 3]);
        Expect.Close(Broadcast(a, b, Math.Min), ta.Minimum(tb), 0, 0, [2, 3]);
    }

    [Fact]
    public void BinaryOpsBroadcastAColumnAgainstARow()
    {
        using var scope = Torch.NewDisposeScope();
        var column = TestData.Float64([1, 2], 2, 1);
        var row = TestData.Float64([10, 20, 30], 1, 3);
        Expect.Close([11, 21, 31, 12, 22, 32], column + row, 0, 0, [2, 3]);
        Expect.Close([-9, -19, -29, -8, -18, -28], column - row, 0, 0, [2, 3]);
    }

    [Fact]
    public void PowRaisesPositiveBasesToBroadcastExponents()
    {
        using var scope = Torch.NewDisposeScope();
        var (a, b) = RowBroadcastOperands(0.5, 2);
        var exponents = TestData.RoundToFloat32(b.Select(x => x - 1.2).ToArray());
        var result = TestData.Float32(a, 2, 3).Pow(TestData.Float32(exponents, 3));
        Expect.Close(Broadcast(a, exponents, Math.Pow), result, Absolute, Relative, [2, 3]);
        Expect.Close([8, 0.25, 1], TestData.Float64([2, 0.5, 7], 3).Pow(TestData.Float64([3, 2, 0], 3)), 0);
    }

    [Fact]
    public void ScalarOperandsWorkOnEitherSide()
    {
        using var scope = Torch.NewDisposeScope();
        var x = TestData.Float64([1, -2, 4], 3);
        Expect.Close([3, 0, 6], x + 2.0, 0);
        Expect.Close([-1, -4, 2], x - 2.0, 0);
        Expect.Close([2, -4, 8], x * 2.0, 0);
        Expect.Close([0.5, -1, 2], x / 2.0, 0);
        Expect.Close([1, 4, 16], x.Pow(2), 0);
        Expect.Close([1, 0.5, 0.25], x.Abs().Pow(-1), 0);
        Expect.Close([3, 0, 6], 2.0 + x, 0);
        Expect.Close([2, -4, 8], 2.0 * x, 0);
        Expect.Close([1, 4, -2], 2.0 - x, 0);
        Expect.Close([2, -1, 0.5], 2.0 / x, 1e-15);
        Expect.Close([-1, 2, -4], -x, 0);
        Expect.Close([1, 0, 4], x.Maximum(0), 0);
        Expect.Close([0, -2, 0], x.Minimum(0), 0);
        Expect.Close([1, -2, 4], x, 0);
    }

    [Fact]
    public void ScalarFirstOperatorsKeepFloat32()
    {
        using var scope = Torch.NewDisposeScope();
        var x = TestData.Float32([4, 0.5], 2);
        var difference = 2.0 - x;
        var quotient = 2.0 / x;
        Assert.Equal(ScalarType.Float32, difference.Type);
        Assert.Equal(ScalarType.Float32, quotient.Type);
        Assert.Equal([-2f, 1.5f], difference.ToArray<float>());
        Assert.Equal([0.5f, 4f], quotient.ToArray<float>());
    }

    [Fact]
    public void InPlaceBinaryOpsModifyAndReturnTheSameTensor()
    {
        using var scope = Torch.NewDisposeScope();
        var other = TestData.Float64([2, 4], 2);
        var x = TestData.Float64([1, 2], 2);
        Assert.Same(x, x.AddInPlace(other, 0.5));
        Expect.Close([2, 4], x, 0);
        Assert.Same(x, x.SubInPlace(other, 0.25));
        Expect.Close([1.5, 3], x, 0);
        Assert.Same(x, x.MulInPlace(other));
        Expect.Close([3, 12], x, 0);
        Assert.Same(x, x.DivInPlace(other));
        Expect.Close([1.5, 3], x, 0);
        Assert.Same(x, x.PowInPlace(other));
        Expect.Close([Math.Pow(1.5, 2), 81], x, 0);
        Assert.Same(x, x.AddInPlace(1));
        Expect.Close([3.25, 82], x, 0);
        Assert.Same(x, x.SubInPlace(0.25));
        Expect.Close([3, 81.75], x, 0);
        Assert.Same(x, x.MulInPlace(4));
        Expect.Close([12, 327], x, 0);
        Assert.Same(x, x.DivInPlace(3));
        Expect.Close([4, 109], x, 0);
        Assert.Same(x, x.PowInPlace(0.5));
        Expect.Close([2, Math.Sqrt(109)], x, 1e-15);
        Expect.Close([2, 4], other, 0);
    }

    /// <summary>Each unary op with its in-place form, a float64 reference, and the domain its inputs are drawn from.</summary>
    private static readonly Dictionary<string, (Func<Tensor, Tensor> Op, Func<Tensor, Tensor>? InPlace, Func<double, double> Reference, double Low, double High)> Unary = new()
    {
        ["neg"] = (t => t.Neg(), t => t.NegInPlace(), x => -x, -3, 3),
        ["abs"] = (t => t.Abs(), t => t.AbsInPlace(), Math.Abs, -3, 3),
        ["sqrt"] = (t => t.Sqrt(), t => t.SqrtInPlace(), Math.Sqrt, 0.01, 5),
        ["rsqrt"] = (t => t.Rsqrt(), t => t.RsqrtInPlace(), x => 1 / Math.Sqrt(x), 0.01, 5),
        ["exp"] = (t => t.Exp(), t => t.ExpInPlace(), Math.Exp, -5, 5),
        ["log"] = (t => t.Log(), t => t.LogInPlace(), Math.Log, 0.01, 5),
        ["relu"] = (t => t.Relu(), t => t.ReluInPlace(), x => Math.Max(x, 0), -3, 3),
        ["sigmoid"] = (t => t.Sigmoid(), t => t.SigmoidInPlace(), x => 1 / (1 + Math.Exp(-x)), -6, 6),
        ["tanh"] = (t => t.Tanh(), t => t.TanhInPlace(), Math.Tanh, -3, 3),
        ["square"] = (t => t.Square(), t => t.SquareInPlace(), x => x * x, -3, 3),
        ["reciprocal"] = (t => t.Reciprocal(), t => t.ReciprocalInPlace(), x => 1 / x, 0.1, 5),
        ["sign"] = (t => t.Sign(), null, x => Math.Sign(x), -3, 3),   // the binding has no SignInPlace
    };

    [Theory]
    [InlineData("neg")]
    [InlineData("abs")]
    [InlineData("sqrt")]
    [InlineData("rsqrt")]
    [InlineData("exp")]
    [InlineData("log")]
    [InlineData("relu")]
    [InlineData("sigmoid")]
    [InlineData("tanh")]
    [InlineData("square")]
    [InlineData("reciprocal")]
    [InlineData("sign")]
    public void UnaryOpMatchesItsFloat64Reference(string name)
    {
        using var scope = Torch.NewDisposeScope();
        var (op, inPlace, reference, low, high) = Unary[name];
        var input = TestData.RoundToFloat32(TestData.Uniform(name.Sum(c => c), 40, low, high));
        var expected = input.Select(reference).ToArray();

        var x = TestData.Float32(input, 4, 10);
        var result = op(x);
        Assert.NotSame(x, result);
        Expect.Close(expected, result, 1e-7, 2e-6, [4, 10]);
        Expect.Close(input, x, 0);   // the out-of-place form left its input alone

        if (inPlace is null) return;
        Assert.Same(x, inPlace(x));
        Expect.Close(expected, x, 1e-7, 2e-6);
    }

    [Fact]
    public void UnaryOpsHandleExactValues()
    {
        using var scope = Torch.NewDisposeScope();
        var x = TestData.Float64([-2, 0, 3], 3);
        Expect.Close([-1, 0, 1], x.Sign(), 0);
        Expect.Close([0, 0, 3], x.Relu(), 0);
        Expect.Close([2, 0, 3], x.Abs(), 0);
        Expect.Close([4, 0, 9], x.Square(), 0);
        Expect.Close([-0.5, double.PositiveInfinity, 1 / 3.0], x.Reciprocal().ToArray<double>(), 1e-16);
        Expect.Close([1, 0.5, 1 / Math.Sqrt(2)], TestData.Float64([1, 4, 2], 3).Rsqrt(), 1e-16);
    }

    [Fact]
    public void ComparisonsGiveBoolTensors()
    {
        using var scope = Torch.NewDisposeScope();
        var a = TestData.Float32([1, 2, 3, 4], 4);
        var b = TestData.Float32([4, 2, 1, 4], 4);
        Assert.Equal(ScalarType.Bool, a.Eq(b).Type);
        Assert.Equal([false, true, false, true], a.Eq(b).ToArray<bool>());
        Assert.Equal([true, false, true, false], a.Ne(b).ToArray<bool>());
        Assert.Equal([true, false, false, false], a.Lt(b).ToArray<bool>());
        Assert.Equal([true, true, false, true], a.Le(b).ToArray<bool>());
        Assert.Equal([false, false, true, false], a.Gt(b).ToArray<bool>());
        Assert.Equal([false, true, true, true], a.Ge(b).ToArray<bool>());
        Assert.Equal([false, true, false, false], a.Eq(2).ToArray<bool>());
        Assert.Equal([true, false, true, true], a.Ne(2).ToArray<bool>());
        Assert.Equal([true, false, false, false], a.Lt(2).ToArray<bool>());
        Assert.Equal([true, true, false, false], a.Le(2).ToArray<bool>());
        Assert.Equal([false, false, true, true], a.Gt(2).ToArray<bool>());
        Assert.Equal([false, true, true, true], a.Ge(2).ToArray<bool>());
    }

    [Fact]
    public void ClampLimitsEitherOrBothSides()
    {
        using var scope = Torch.NewDisposeScope();
        double[] values = [-3, -1, 0.5, 2, 5];
        var x = TestData.Float64(values, 5);
        Expect.Close([-1, -1, 0.5, 2, 5], x.Clamp(min: -1), 0);
        Expect.Close([-3, -1, 0.5, 2, 2], x.Clamp(max: 2), 0);
        Expect.Close([-1, -1, 0.5, 2, 2], x.Clamp(-1, 2), 0);
        Expect.Close(values, x, 0);

        Assert.Same(x, x.ClampInPlace(0, 1));
        Expect.Close([0, 0, 0.5, 1, 1], x, 0);
        x.ClampInPlace(min: 0.75);
        Expect.Close([0.75, 0.75, 0.75, 1, 1], x, 0);
        x.ClampInPlace(max: 0.8);
        Expect.Close([0.75, 0.75, 0.75, 0.8, 0.8], x, 0);
    }

    [Fact]
    public void AddCMulAndAddCDivCombineThreeTensors()
    {
        using var scope = Torch.NewDisposeScope();
        var self = TestData.Float64([1, 2, 3], 3);
        var t1 = TestData.Float64([2, -1, 4], 3);
        var t2 = TestData.Float64([0.5, 3, 8], 3);
        Expect.Close([1 + 0.5 * 2 * 0.5, 2 + 0.5 * -1 * 3, 3 + 0.5 * 4 * 8], self.AddCMul(t1, t2, 0.5), 0);
        Expect.Close([1 + 2 * 0.5, 2 + -1 * 3, 3 + 4 * 8], self.AddCMul(t1, t2), 0);
        Expect.Close([1 - 2 / 0.5, 2 - -1 / 3.0, 3 - 4 / 8.0], self.AddCDiv(t1, t2, -1), 1e-15);
        Expect.Close([1, 2, 3], self, 0);

        Assert.Same(self, self.AddCMulInPlace(t1, t2, 2));
        Expect.Close([3, -4, 67], self, 0);
    }

    [Fact]
    public void WhereChoosesByCondition()
    {
        using var scope = Torch.NewDisposeScope();
        var a = TestData.Float32([1, -2, 3, -4], 2, 2);
        var b = TestData.Float32([10, 20, 30, 40], 2, 2);
        Expect.Close([1, 20, 3, 40], Torch.Where(a.Gt(0), a, b), 0, 0, [2, 2]);
        // The condition broadcasts too.
        var rows = Tensor.FromArray(new[] { true, false }, 2, 1);
        Expect.Close([1, -2, 30, 40], Torch.Where(rows, a, b), 0, 0, [2, 2]);
    }
}
