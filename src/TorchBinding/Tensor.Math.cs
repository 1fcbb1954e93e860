namespace MLNetNormalization.TorchBinding;

/// <summary>Codes of the shim's element-wise binary ops (math.cpp).</summary>
internal enum BinaryOp
{
    Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge,
}

/// <summary>Codes of the shim's element-wise unary ops (math.cpp).</summary>
internal enum UnaryOp
{
    Neg, Abs, Sqrt, Rsqrt, Exp, Log, Relu, Sigmoid, Tanh, Square, Reciprocal, Sign,
}

// Element-wise arithmetic with broadcasting, in-place forms (suffix InPlace, returning this), and reductions.
public sealed unsafe partial class Tensor
{
    private Tensor Binary(BinaryOp op, Tensor other, double alpha = 1) =>
        new(Native.mln_binary((int)op, Handle, other.Handle, alpha));

    private Tensor BinaryInPlace(BinaryOp op, Tensor other, double alpha = 1)
    {
        Native.Check(Native.mln_binary_((int)op, Handle, other.Handle, alpha));
        return this;
    }

    private Tensor Binary(BinaryOp op, double scalar) => new(Native.mln_binary_scalar((int)op, Handle, scalar));

    private Tensor BinaryInPlace(BinaryOp op, double scalar)
    {
        Native.Check(Native.mln_binary_scalar_((int)op, Handle, scalar));
        return this;
    }

    private Tensor Unary(UnaryOp op) => new(Native.mln_unary((int)op, Handle));

    private Tensor UnaryInPlace(UnaryOp op)
    {
        Native.Check(Native.mln_unary_((int)op, Handle));
        return this;
    }

    /// <summary>this + alpha * other.</summary>
    public Tensor Add(Tensor other, double alpha = 1) => Binary(BinaryOp.Add, other, alpha);
    /// <summary>this - alpha * other.</summary>
    public Tensor Sub(Tensor other, double alpha = 1) => Binary(BinaryOp.Sub, other, alpha);
    public Tensor Mul(Tensor other) => Binary(BinaryOp.Mul, other);
    public Tensor Div(Tensor other) => Binary(BinaryOp.Div, other);
    public Tensor Pow(Tensor exponent) => Binary(BinaryOp.Pow, exponent);
    public Tensor Maximum(Tensor other) => Binary(BinaryOp.Maximum, other);
    public Tensor Minimum(Tensor other) => Binary(BinaryOp.Minimum, other);
    public Tensor Eq(Tensor other) => Binary(BinaryOp.Eq, other);
    public Tensor Ne(Tensor other) => Binary(BinaryOp.Ne, other);
    public Tensor Lt(Tensor other) => Binary(BinaryOp.Lt, other);
    public Tensor Le(Tensor other) => Binary(BinaryOp.Le, other);
    public Tensor Gt(Tensor other) => Binary(BinaryOp.Gt, other);
    public Tensor Ge(Tensor other) => Binary(BinaryOp.Ge, other);

    public Tensor Add(double scalar) => Binary(BinaryOp.Add, scalar);
    public Tensor Sub(double scalar) => Binary(BinaryOp.Sub, scalar);
    public Tensor Mul(double scalar) => Binary(BinaryOp.Mul, scalar);
    public Tensor Div(double scalar) => Binary(BinaryOp.Div, scalar);
    public Tensor Pow(double exponent) => Binary(BinaryOp.Pow, exponent);
    public Tensor Maximum(double scalar) => Binary(BinaryOp.Maximum, scalar);
    public Tensor Minimum(double scalar) => Binary(BinaryOp.Minimum, scalar);
    public Tensor Eq(double scalar) => Binary(BinaryOp.Eq, scalar);
    public Tensor Ne(double scalar) => Binary(BinaryOp.Ne, scalar);
    public Tensor Lt(double scalar) => Binary(BinaryOp.Lt, scalar);
    public Tensor Le(double scalar) => Binary(BinaryOp.Le, scalar);
    public Tensor Gt(double scalar) => Binary(BinaryOp.Gt, scalar);
    public Tensor Ge(double scalar) => Binary(BinaryOp.Ge, scalar);

    public Tensor AddInPlace(Tensor other, double alpha = 1) => BinaryInPlace(BinaryOp.Add, other, alpha);
    public Tensor SubInPlace(Tensor other, double alpha = 1) => BinaryInPlace(BinaryOp.Sub, other, alpha);
    public Tensor MulInPlace(Tensor other) => BinaryInPlace(BinaryOp.Mul, other);
    public Tensor DivInPlace(Tensor other) => BinaryInPlace(BinaryOp.Div, other);
    public Tensor PowInPlace(Tensor exponent) => BinaryInPlace(BinaryOp.Pow, exponent);
    public Tensor AddInPlace(double scalar) => BinaryInPlace(BinaryOp.Add, scalar);
    public Tensor SubInPlace(double scalar) => BinaryInPlace(BinaryOp.Sub, scalar);
    public Tensor MulInPlace(double scalar) => BinaryInPlace(BinaryOp.Mul, scalar);
    public Tensor DivInPlace(double scalar) => BinaryInPlace(BinaryOp.Div, scalar);
    public Tensor PowInPlace(double exponent) => BinaryInPlace(BinaryOp.Pow, exponent);

    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);
    public static Tensor operator +(Tensor a, double b) => a.Add(b);
    public static Tensor operator -(Tensor a, double b) => a.Sub(b);
    public static Tensor operator *(Tensor a, double b) => a.Mul(b);
    public static Tensor operator /(Tensor a, double b) => a.Div(b);
    public static Tensor operator +(double a, Tensor b) => b.Add(a);
    public static Tensor operator *(double a, Tensor b) => b.Mul(a);
    public static Tensor operator -(double a, Tensor b) => new(Native.mln_scalar_binary((int)BinaryOp.Sub, a, b.Handle));
    public static Tensor operator /(double a, Tensor b) => new(Native.mln_scalar_binary((int)BinaryOp.Div, a, b.Handle));
    public static Tensor operator -(Tensor a) => a.Neg();

    public Tensor Neg() => Unary(UnaryOp.Neg);
    public Tensor Abs() => Unary(UnaryOp.Abs);
    public Tensor Sqrt() => Unary(UnaryOp.Sqrt);
    public Tensor Rsqrt() => Unary(UnaryOp.Rsqrt);
    public Tensor Exp() => Unary(UnaryOp.Exp);
    public Tensor Log() => Unary(UnaryOp.Log);
    public Tensor Relu() => Unary(UnaryOp.Relu);
    public Tensor Sigmoid() => Unary(UnaryOp.Sigmoid);
    public Tensor Tanh() => Unary(UnaryOp.Tanh);
    public Tensor Square() => Unary(UnaryOp.Square);
    public Tensor Reciprocal() => Unary(UnaryOp.Reciprocal);
    public Tensor Sign() => Unary(UnaryOp.Sign);

    public Tensor NegInPlace() => UnaryInPlace(UnaryOp.Neg);
    public Tensor AbsInPlace() => UnaryInPlace(UnaryOp.Abs);
    public Tensor SqrtInPlace() => UnaryInPlace(UnaryOp.Sqrt);
    public Tensor RsqrtInPlace() => UnaryInPlace(UnaryOp.Rsqrt);
    public Tensor ExpInPlace() => UnaryInPlace(UnaryOp.Exp);
    public Tensor LogInPlace() => UnaryInPlace(UnaryOp.Log);
    public Tensor ReluInPlace() => UnaryInPlace(UnaryOp.Relu);
    public Tensor SigmoidInPlace() => UnaryInPlace(UnaryOp.Sigmoid);
    public Tensor TanhInPlace() => UnaryInPlace(UnaryOp.Tanh);
    public Tensor SquareInPlace() => UnaryInPlace(UnaryOp.Square);
    public Tensor ReciprocalInPlace() => UnaryInPlace(UnaryOp.Reciprocal);

    /// <summary>Limits the values to [min, max]; either bound may be omitted.</summary>
    public Tensor Clamp(double? min = null, double? max = null) =>
        new(Native.mln_clamp(Handle, min.HasValue ? 1 : 0, min ?? 0, max.HasValue ? 1 : 0, max ?? 0));

    public Tensor ClampInPlace(double? min = null, double? max = null)
    {
        Native.Check(Native.mln_clamp_(Handle, min.HasValue ? 1 : 0, min ?? 0, max.HasValue ? 1 : 0, max ?? 0));
        return this;
    }

    /// <summary>this + value * t1 * t2, in one pass.</summary>
    public Tensor AddCMul(Tensor t1, Tensor t2, double value = 1) =>
        new(Native.mln_addcmul(Handle, t1.Handle, t2.Handle, value));

    public Tensor AddCMulInPlace(Tensor t1, Tensor t2, double value = 1)
    {
        Native.Check(Native.mln_addcmul_(Handle, t1.Handle, t2.Handle, value));
        return this;
    }

    /// <summary>this + value * t1 / t2, in one pass.</summary>
    public Tensor AddCDiv(Tensor t1, Tensor t2, double value = 1) =>
        new(Native.mln_addcdiv(Handle, t1.Handle, t2.Handle, value));

    // ----- reductions; no dims means every dimension -----

    public Tensor Sum(ReadOnlySpan<long> dims = default, bool keepDim = false)
    {
        fixed (long* d = dims) return new(Native.mln_sum(Handle, d, dims.Length, keepDim ? 1 : 0));
    }

    public Tensor Mean(ReadOnlySpan<long> dims = default, bool keepDim = false)
    {
        fixed (long* d = dims) return new(Native.mln_mean(Handle, d, dims.Length, keepDim ? 1 : 0));
    }

    /// <summary>Variance (divided by count - correction: 0 biased, 1 unbiased) and mean, in one pass.</summary>
    public (Tensor Variance, Tensor Mean) VarMean(ReadOnlySpan<long> dims = default, long correction = 1, bool keepDim = false)
    {
        IntPtr variance, mean;
        fixed (long* d = dims)
            Native.Check(Native.mln_var_mean(Handle, d, dims.Length, correction, keepDim ? 1 : 0, &variance, &mean));
        return (new Tensor(variance), new Tensor(mean));
    }

    public Tensor Max() => new(Native.mln_max_all(Handle));

    public Tensor Min() => new(Native.mln_min_all(Handle));

    public (Tensor Values, Tensor Indices) Max(long dim, bool keepDim = false)
    {
        IntPtr values, indices;
        Native.Check(Native.mln_max_dim(Handle, dim, keepDim ? 1 : 0, &values, &indices));
        return (new Tensor(values), new Tensor(indices));
    }

    public Tensor ArgMax(long dim, bool keepDim = false) => new(Native.mln_argmax(Handle, dim, keepDim ? 1 : 0));

    public (Tensor Values, Tensor Indices) TopK(long k, long dim = -1, bool largest = true, bool sorted = true)
    {
        IntPtr values, indices;
        Native.Check(Native.mln_topk(Handle, k, dim, largest ? 1 : 0, sorted ? 1 : 0, &values, &indices));
        return (new Tensor(values), new Tensor(indices));
    }

    public Tensor MatMul(Tensor other) => new(Native.mln_matmul(Handle, other.Handle));
}
