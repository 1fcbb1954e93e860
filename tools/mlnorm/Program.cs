using MLNetNormalization.Tools.Mlnorm;

return Cli.Run(args);
