using System.Runtime.InteropServices;

namespace MLNetNormalization.TorchBinding;

/// <summary>
/// A handle to one libtorch tensor. Dispose it, or let the enclosing <see cref="DisposeScope"/> do so;
/// the finalizer is only a safety net.
/// </summary>
public sealed unsafe partial class Tensor : IDisposable
{
    private IntPtr handle;

    /// <summary>Takes ownership of a handle the shim returned (null means the call failed).</summary>
    internal Tensor(IntPtr nativeHandle)
    {
        handle = Native.Check(nativeHandle);
        DisposeScope.Innermost?.Adopt(this);
    }

    ~Tensor() => ReleaseHandle();

    internal IntPtr Handle =>
        handle != IntPtr.Zero ? handle : throw new ObjectDisposedException(nameof(Tensor), "The tensor was disposed (by you or by its dispose scope).");

    internal DisposeScope? Owner { get; set; }

    public bool IsDisposed => handle == IntPtr.Zero;

    public void Dispose()
    {
        Owner?.Release(this);
        ReleaseHandle();
        GC.SuppressFinalize(this);
    }

    private void ReleaseHandle()
    {
        var toFree = Interlocked.Exchange(ref handle, IntPtr.Zero);
        if (toFree != IntPtr.Zero) Native.mln_tensor_free(toFree);
    }

    /// <summary>Keeps this tensor alive past the current scope: the next outer scope (if any) owns it now.</summary>
    public Tensor MoveToOuterDisposeScope()
    {
        var outer = Owner?.Outer;
        Owner?.Release(this);
        outer?.Adopt(this);
        return this;
    }

    /// <summary>Takes this tensor out of every scope: the caller disposes it.</summary>
    public Tensor DetachFromDisposeScope()
    {
        Owner?.Release(this);
        return this;
    }

    /// <summary>Makes this object refer to <paramref name="replacement"/>'s tensor and disposes the old one, so references to this object (an optimizer's, say) follow a move.</summary>
    internal void ReplaceWith(Tensor replacement)
    {
        var newHandle = Native.Check(Native.mln_tensor_share(replacement.Handle));
        var old = Interlocked.Exchange(ref handle, newHandle);
        if (old != IntPtr.Zero) Native.mln_tensor_free(old);
    }

    public int Rank => Native.mln_tensor_ndim(Handle);

    public long[] Shape
    {
        get
        {
            var shape = new long[Rank];
            fixed (long* p = shape) Native.mln_tensor_shape(Handle, p);
            return shape;
        }
    }

    public long ElementCount => Native.mln_tensor_numel(Handle);

    public ScalarType Type => (ScalarType)Native.mln_tensor_dtype(Handle);

    public Device Device => new((DeviceType)Native.mln_tensor_device_type(Handle), Native.mln_tensor_device_index(Handle));

    public bool IsContiguous => Native.mln_tensor_is_contiguous(Handle) != 0;

    public override string ToString() =>
        IsDisposed ? "Tensor(disposed)" : $"Tensor({Type}, [{string.Join(", ", Shape)}], {Device})";

    // ----- data in and out -----

    /// <summary>A new tensor holding a copy of <paramref name="data"/> with the given shape (row-major).</summary>
    public static Tensor FromSpan<T>(ReadOnlySpan<T> data, ReadOnlySpan<long> shape, Device? device = null) where T : unmanaged =>
        FromBytes(MemoryMarshal.AsBytes(data), ScalarTypes.Of<T>(), shape, device);

    /// <summary>A new tensor from raw little-endian element bytes.</summary>
    internal static Tensor FromBytes(ReadOnlySpan<byte> bytes, ScalarType type, ReadOnlySpan<long> shape, Device? device = null)
    {
        long count = 1;
        foreach (var size in shape) count *= size;
        if (count * type.ElementSize() != bytes.Length)
            throw new ArgumentException($"shape [{string.Join(", ", shape.ToArray())}] holds {count} elements but the data has {bytes.Length / type.ElementSize()}.", nameof(shape));
        var target = device ?? Device.Cpu;
        fixed (byte* d = bytes)
        fixed (long* s = shape)
            return new Tensor(Native.mln_tensor_from_data(d, s, shape.Length, (int)type, (int)target.Type, target.Index));
    }

    public static Tensor FromArray<T>(T[] data, params ReadOnlySpan<long> shape) where T : unmanaged =>
        FromSpan<T>(data, shape.Length == 0 ? [data.LongLength] : shape);

    /// <summary>Copies the elements, row-major, into <paramref name="destination"/> (one copy, from any device or layout).</summary>
    public void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        CheckElementType<T>();
        if (destination.Length != ElementCount)
            throw new ArgumentException($"destination holds {destination.Length} elements but {this} has {ElementCount}.", nameof(destination));
        CopyBytesTo(MemoryMarshal.AsBytes(destination));
    }

    /// <summary>Copies the raw element bytes; <paramref name="destination"/> must hold exactly all of them.</summary>
    internal void CopyBytesTo(Span<byte> destination)
    {
        fixed (byte* d = destination)
            Native.Check(Native.mln_tensor_copy_to(Handle, d, destination.Length));
    }

    public T[] ToArray<T>() where T : unmanaged
    {
        var result = new T[ElementCount];
        CopyTo<T>(result);
        return result;
    }

    /// <summary>The value of a one-element tensor.</summary>
    public T Item<T>() where T : unmanaged
    {
        if (ElementCount != 1)
            throw new InvalidOperationException($"Item needs a one-element tensor; {this} has {ElementCount}.");
        T value = default;
        CopyTo(new Span<T>(&value, 1));
        return value;
    }

    /// <summary>
    /// The elements of a contiguous CPU tensor without copying. The span is valid only while this
    /// tensor is alive and unchanged in shape.
    /// </summary>
    public ReadOnlySpan<T> AsReadOnlySpan<T>() where T : unmanaged
    {
        CheckElementType<T>();
        var data = Native.mln_tensor_data_ptr(Handle);
        if (data == null)
            throw new InvalidOperationException($"{this} is not a contiguous CPU tensor; call Contiguous() or To(Device.Cpu) first, or use ToArray.");
        return new ReadOnlySpan<T>(data, checked((int)ElementCount));
    }

    private void CheckElementType<T>() where T : unmanaged
    {
        var expected = ScalarTypes.Of<T>();
        if (expected != Type)
            throw new ArgumentException($"{this} holds {Type} elements, not {typeof(T).Name}; convert it with To(ScalarType.{expected}) first.");
    }

    // ----- conversion and copies -----

    public Tensor To(ScalarType type) => To(type, Device);

    public Tensor To(Device device) => To(Type, device);

    public Tensor To(ScalarType type, Device device) =>
        new(Native.mln_to(Handle, (int)type, (int)device.Type, device.Index));

    public Tensor Clone() => new(Native.mln_clone(Handle));

    /// <summary>Copies <paramref name="source"/>'s values into this tensor (broadcasting, converting dtype and device).</summary>
    public Tensor CopyFrom(Tensor source)
    {
        Native.Check(Native.mln_copy_(Handle, source.Handle));
        return this;
    }

    public Tensor Fill(double value)
    {
        Native.Check(Native.mln_fill_(Handle, value));
        return this;
    }

    public Tensor Zero() => Fill(0);

    /// <summary>Fills with uniform values in [low, high).</summary>
    public Tensor Uniform(double low, double high, Generator? generator = null)
    {
        Native.Check(Native.mln_uniform_(Handle, low, high, generator?.Handle ?? IntPtr.Zero));
        return this;
    }

    public Tensor Normal(double mean, double std, Generator? generator = null)
    {
        Native.Check(Native.mln_normal_(Handle, mean, std, generator?.Handle ?? IntPtr.Zero));
        return this;
    }

    // ----- autograd -----

    public bool RequiresGrad
    {
        get => Native.mln_requires_grad(Handle) != 0;
        set => Native.Check(Native.mln_set_requires_grad(Handle, value ? 1 : 0));
    }

    public bool IsLeaf => Native.mln_is_leaf(Handle) != 0;

    /// <summary>The accumulated gradient (a new handle to it), or null before any backward reached this tensor.</summary>
    public Tensor? Grad
    {
        get
        {
            IntPtr gradient;
            Native.Check(Native.mln_grad(Handle, &gradient));
            return gradient == IntPtr.Zero ? null : new Tensor(gradient);
        }
    }

    /// <summary>Back-propagates from this tensor; <paramref name="gradient"/> may be omitted for a scalar.</summary>
    public void Backward(Tensor? gradient = null, bool retainGraph = false) =>
        Native.Check(Native.mln_backward(Handle, gradient?.Handle ?? IntPtr.Zero, retainGraph ? 1 : 0));

    /// <summary>A tensor sharing this one's storage, cut from the autograd graph.</summary>
    public Tensor Detach() => new(Native.mln_detach(Handle));

    // ----- comparisons of whole tensors -----

    public bool AllClose(Tensor other, double relativeTolerance = 1e-5, double absoluteTolerance = 1e-8)
    {
        int result;
        Native.Check(Native.mln_all_close(Handle, other.Handle, relativeTolerance, absoluteTolerance, &result));
        return result != 0;
    }

    /// <summary>True when no element is NaN or infinite.</summary>
    public bool AllFinite()
    {
        int result;
        Native.Check(Native.mln_all_finite(Handle, &result));
        return result != 0;
    }

    /// <summary>True when both have the same shape and exactly equal elements.</summary>
    public bool Equal(Tensor other)
    {
        int result;
        Native.Check(Native.mln_equal(Handle, other.Handle, &result));
        return result != 0;
    }
}
