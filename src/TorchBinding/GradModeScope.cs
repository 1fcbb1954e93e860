namespace MLNetNormalization.TorchBinding;

/// <summary>Turns gradient recording on or off on this thread until disposed, then restores what was there.</summary>
public readonly struct GradModeScope : IDisposable
{
    private readonly bool previous;

    internal GradModeScope(bool enabled)
    {
        previous = Native.mln_grad_enabled() != 0;
        Native.mln_set_grad_enabled(enabled ? 1 : 0);
    }

    public void Dispose() => Native.mln_set_grad_enabled(previous ? 1 : 0);
}
