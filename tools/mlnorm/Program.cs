using MLNetNormalization.Tools.Mlnorm;

using var signals = new TerminationSignals();
var code = Cli.Run(args, cancellation: signals.Token);
return code == Cli.Cancelled ? signals.CancelledExitCode : code;
