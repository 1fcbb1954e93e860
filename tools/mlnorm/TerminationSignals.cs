using System.Runtime.InteropServices;

namespace MLNetNormalization.Tools.Mlnorm;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM for the mlnorm process: the first cancels <see cref="Token"/>, and the running command stops at
/// its next training step and removes what it had staged (a sweep keeps its trial log in --output to resume); a second
/// signal ends the process at once, as if no handler were there.
/// </summary>
internal sealed class TerminationSignals : IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly PosixSignalRegistration[] _registrations;
    private int _received;   // 0 none, else the exit code of the first signal

    public TerminationSignals() =>
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];

    public CancellationToken Token => _cancel.Token;

    /// <summary>The exit code of a command the first signal cancelled: 128 + its number, 130 for SIGINT and 143 for SIGTERM.</summary>
    public int CancelledExitCode => _received == 0 ? Cli.Cancelled : _received;

    private void Handle(PosixSignalContext context)
    {
        if (Interlocked.CompareExchange(ref _received, context.Signal == PosixSignal.SIGTERM ? 143 : 130, 0) != 0) return;
        context.Cancel = true;
        _cancel.Cancel();
    }

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
        _cancel.Dispose();
    }
}
