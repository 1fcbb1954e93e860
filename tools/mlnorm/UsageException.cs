namespace MLNetNormalization.Tools.Mlnorm;

/// <summary>Bad input from the command line: a one-line message naming the thing and the fix; mlnorm exits with code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>A cancelled command that kept what lets it resume; the message says where, and how to resume.</summary>
internal sealed class ResumableCancellationException(string message) : OperationCanceledException(message);
