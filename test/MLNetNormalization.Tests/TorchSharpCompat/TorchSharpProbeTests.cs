using System.Globalization;
using System.Text.RegularExpressions;

namespace MLNetNormalization.Tests.TorchSharpCompat;

/// <summary>TorchSharp 0.107 loads and trains from a project's build output on this machine (on Debian 12 thanks to
/// the build step of build/TorchSharpCompat.targets).</summary>
public sealed class TorchSharpProbeTests
{
    [Fact]
    public void ProbeTrainsOnTheLibTorchOfItsOutputWithTwoThreadsAndItsLossFalls()
    {
        const int steps = 20;
        var (exitCode, output, error) = TorchSharpProbeProcess.Run([$"{steps}"]);
        Assert.True(exitCode == 0, output + error);

        var libTorch = Path.Combine(TorchSharpProbeProcess.NativeDirectory, "libtorch_cpu.so");
        Assert.Contains($"libtorch 2.10.0.0 from {libTorch}\n", output);
        Assert.Contains("threads 2\n", output);
        var losses = Regex.Matches(output, @"^step \d+ loss (\S+) ", RegexOptions.Multiline)
            .Select(match => double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture))
            .ToList();
        Assert.Equal(steps, losses.Count);
        Assert.True(losses[^1] < 0.25 * losses[0], output);
    }
}
