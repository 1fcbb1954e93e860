namespace MLNetNormalization.TorchBinding;

// Views and layout changes. Views share storage with this tensor.
public sealed unsafe partial class Tensor
{
    public Tensor Reshape(params ReadOnlySpan<long> shape)
    {
        fixed (long* s = shape) return new(Native.mln_reshape(Handle, s, shape.Length));
    }

    public Tensor View(params ReadOnlySpan<long> shape)
    {
        fixed (long* s = shape) return new(Native.mln_view(Handle, s, shape.Length));
    }

    public Tensor Permute(params ReadOnlySpan<long> dims)
    {
        fixed (long* d = dims) return new(Native.mln_permute(Handle, d, dims.Length));
    }

    public Tensor Transpose(long dim0, long dim1) => new(Native.mln_transpose(Handle, dim0, dim1));

    public Tensor Contiguous() => new(Native.mln_contiguous(Handle));

    /// <summary>A broadcast view of size-1 dimensions to <paramref name="shape"/> (-1 keeps a size).</summary>
    public Tensor Expand(params ReadOnlySpan<long> shape)
    {
        fixed (long* s = shape) return new(Native.mln_expand(Handle, s, shape.Length));
    }

    public Tensor Squeeze(long dim) => new(Native.mln_squeeze(Handle, dim));

    public Tensor Unsqueeze(long dim) => new(Native.mln_unsqueeze(Handle, dim));

    public Tensor Flatten(long startDim = 0, long endDim = -1) => new(Native.mln_flatten(Handle, startDim, endDim));

    public Tensor Narrow(long dim, long start, long length) => new(Native.mln_narrow(Handle, dim, start, length));

    /// <summary>Elements start, start+step, ... below end along dim (Python's a[start:end:step]).</summary>
    public Tensor Slice(long dim, long start, long end, long step = 1) => new(Native.mln_slice(Handle, dim, start, end, step));

    public Tensor IndexSelect(long dim, Tensor index) => new(Native.mln_index_select(Handle, dim, index.Handle));

    public Tensor Flip(params ReadOnlySpan<long> dims)
    {
        fixed (long* d = dims) return new(Native.mln_flip(Handle, d, dims.Length));
    }
}
