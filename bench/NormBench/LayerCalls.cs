using System.Diagnostics;
using MLNetNormalization.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetNormalization.Bench;

/// <summary>
/// --profile: the native calls one normalization layer issues from .NET in a training step, counted as the TorchSharp
/// tensors it creates (each libtorch op called from .NET makes one; ops that libtorch's autograd runs natively in the
/// backward make none): ResNet-20's first layer shape, [B, 16, 32, 32], forward and backward (with a given output gradient,
/// so that no loss is counted), on the thread that calls backward, where TorchSharp runs the custom functions' backward too.
/// And the time ResNet-20's 19 normalization layers take in a step, forward and backward: the median step of a layer of
/// each of its three shapes, times the layers of that shape.
/// </summary>
internal static class LayerCalls
{
    public const int Channels = 16, Size = 32;

    /// <summary>ResNet-20's normalization layers: (channels, feature map size, how many), 19 in all.</summary>
    private static readonly (int Channels, int Size, int Layers)[] NetworkShapes = [(16, 32, 7), (32, 16, 6), (64, 8, 6)];

    public static (long Forward, long Backward) Count(Func<long, nn.Module<Tensor, Tensor>> normalization, int batch, bool channelsLast)
    {
        (long, long) counted = default;
        Steps(normalization, batch, Channels, Size, channelsLast, 3, (forward, backward, _) => counted = (forward, backward));
        return counted;
    }

    /// <summary>Milliseconds the network's normalization layers take in a training step, forward and backward.</summary>
    public static double NetworkMs(Func<long, nn.Module<Tensor, Tensor>> normalization, int batch, bool channelsLast)
    {
        var steps = batch >= 64 ? 20 : 100;
        return NetworkShapes.Sum(shape =>
        {
            var times = new List<double>();
            Steps(normalization, batch, shape.Channels, shape.Size, channelsLast, 3 + steps, (_, _, ms) => times.Add(ms));
            times.Sort();
            return shape.Layers * times[3 + steps / 2];
        });
    }

    // Runs a fresh layer's training steps on one input and output gradient, reporting each step's tensors and time.
    private static void Steps(Func<long, nn.Module<Tensor, Tensor>> normalization, int batch, int channels, int size, bool channelsLast,
                              int steps, Action<long, long, double> report)
    {
        using var layer = normalization(channels);
        layer.train();
        using var input = Laid(randn(batch, channels, size, size), channelsLast);
        using var gradient = Laid(randn(batch, channels, size, size), channelsLast);
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var x = input.detach().requires_grad_(true);
            var start = Created;
            var clock = Stopwatch.StartNew();
            var y = layer.call(x);
            var forward = Created - start;
            y.backward([gradient]);
            report(forward, Created - start - forward, clock.Elapsed.TotalMilliseconds);
        }
    }

    private static Tensor Laid(Tensor tensor, bool channelsLast)
    {
        if (!channelsLast) return tensor;
        using (tensor) return MemoryFormat.ToChannelsLast(tensor);
    }

    private static long Created
    {
        get
        {
            var statistics = DisposeScopeManager.Statistics.TensorStatistics;
            return statistics.CreatedInScopeCount + statistics.CreatedOutsideScopeCount;
        }
    }
}
