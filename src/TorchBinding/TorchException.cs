namespace MLNetNormalization.TorchBinding;

/// <summary>An error raised by libtorch (its own message), or by the binding's checks before a native call.</summary>
public sealed class TorchException : Exception
{
    public TorchException(string message) : base(message) { }
}
