using MLNetNormalization.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetNormalization.Bench;

/// <summary>
/// --profile: the native calls one normalization layer issues from .NET in a training step, counted as the TorchSharp
/// tensors it creates (each libtorch op called from .NET makes one; ops that libtorch's autograd runs natively in the
/// backward make none): ResNet-20's first layer shape, [B, 16, 32, 32], forward and backward (with a given output gradient,
/// so that no loss is counted), on the thread that calls backward, where TorchSharp runs the custom functions' backward too.
/// </summary>
internal static class LayerCalls
{
    public const int Channels = 16, Size = 32;

    public static (long Forward, long Backward) Count(Func<long, nn.Module<Tensor, Tensor>> normalization, int batch, bool channelsLast)
    {
        using var layer = normalization(Channels);
        layer.train();
        (long, long) counted = default;
        for (var step = 0; step < 3; step++)
        {
            using var scope = NewDisposeScope();
            var input = randn(batch, Channels, Size, Size);
            var x = (channelsLast ? MemoryFormat.ToChannelsLast(input) : input).detach().requires_grad_(true);
            var gradient = randn(batch, Channels, Size, Size);
            var start = Created;
            var y = layer.call(x);
            var forward = Created - start;
            y.backward([gradient]);
            counted = (forward, Created - start - forward);
        }
        return counted;
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
