namespace MLNetNormalization.TorchBinding;

/// <summary>
/// Owns every tensor created on this thread while it is the innermost open scope, and frees them all
/// when disposed: one scope per training step keeps native memory flat however many steps run.
/// </summary>
/// <remarks>
/// Scopes nest and must be disposed innermost first. A tensor that must outlive the scope is taken out
/// with <see cref="Tensor.MoveToOuterDisposeScope"/> or <see cref="Tensor.DetachFromDisposeScope"/>;
/// module parameters and buffers are detached when registered.
/// </remarks>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? innermost;

    private readonly HashSet<Tensor> owned = new(ReferenceEqualityComparer.Instance);
    private bool disposed;

    internal DisposeScope()
    {
        Outer = innermost;
        innermost = this;
    }

    internal DisposeScope? Outer { get; }

    /// <summary>How many live tensors the scope owns now.</summary>
    public int Count => owned.Count;

    internal static DisposeScope? Innermost => innermost;

    internal void Adopt(Tensor tensor)
    {
        owned.Add(tensor);
        tensor.Owner = this;
    }

    internal void Release(Tensor tensor)
    {
        owned.Remove(tensor);
        tensor.Owner = null;
    }

    public void Dispose()
    {
        if (disposed) return;
        if (innermost != this)
            throw new InvalidOperationException(
                "Dispose scopes must be disposed innermost first, on the thread that opened them; " +
                "wrap each scope in a using statement.");
        disposed = true;
        innermost = Outer;
        foreach (var tensor in owned)
        {
            tensor.Owner = null;
            tensor.Dispose();
        }
        owned.Clear();
    }
}
