namespace MLNetNormalization.TorchBinding;

/// <summary>A seeded CPU random stream of its own, so that (say) data order does not depend on how many random numbers the model drew.</summary>
public sealed class Generator : IDisposable
{
    private IntPtr handle;

    public Generator(ulong seed) => handle = Native.Check(Native.mln_generator_new(seed));

    ~Generator() => Release();

    internal IntPtr Handle => handle != IntPtr.Zero ? handle : throw new ObjectDisposedException(nameof(Generator));

    /// <summary>The stream's full state, to save with a checkpoint and restore on resume.</summary>
    public Tensor GetState() => new(Native.mln_generator_get_state(Handle));

    public void SetState(Tensor state) => Native.Check(Native.mln_generator_set_state(Handle, state.Handle));

    public void Dispose()
    {
        Release();
        GC.SuppressFinalize(this);
    }

    private void Release()
    {
        var toFree = Interlocked.Exchange(ref handle, IntPtr.Zero);
        if (toFree != IntPtr.Zero) Native.mln_generator_free(toFree);
    }
}
