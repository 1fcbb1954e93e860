using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetNormalization.Training;

/// <summary>
/// The channels-last memory layout of 4-d tensors: sizes stay [N, C, H, W] while the strides are those of
/// [N, H, W, C]. TorchSharp 0.107 has no memory-format argument, so the layout is made by permuting to NHWC,
/// copying contiguously, and permuting the view back.
/// </summary>
internal static class MemoryFormat
{
    /// <summary>
    /// <paramref name="tensor"/> (4-d) with channels-last strides: itself when already so laid out, else a copy.
    /// Values and sizes are unchanged.
    /// </summary>
    /// <exception cref="ArgumentException">When the tensor is not 4-d.</exception>
    public static Tensor ToChannelsLast(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.dim() != 4)
            throw new ArgumentException($"Channels-last needs a 4-d [N, C, H, W] tensor; this one has sizes [{string.Join(", ", tensor.shape)}].", nameof(tensor));
        if (IsChannelsLast(tensor)) return tensor.alias();
        // The scope frees the two intermediate views; only the result leaves it (into the caller's scope, if any).
        using var scope = NewDisposeScope();
        return tensor.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2).MoveToOuterDisposeScope();
    }

    /// <summary>Whether the 4-d <paramref name="tensor"/>'s strides are channels-last (C the fastest, then W, H, N).</summary>
    public static bool IsChannelsLast(Tensor tensor)
    {
        if (tensor.dim() != 4) return false;
        var (sizes, strides) = (tensor.shape, tensor.stride());
        // Sizes of 1 may have any stride; the other dimensions must be packed in the order C, W, H, N.
        long expected = 1;
        foreach (var d in new[] { 1, 3, 2, 0 })
        {
            if (sizes[d] != 1 && strides[d] != expected) return false;
            expected *= sizes[d];
        }
        return true;
    }

    /// <summary>
    /// Lays out every <see cref="Conv2d"/> weight of <paramref name="model"/> channels-last (or in the usual contiguous
    /// layout when <paramref name="channelsLast"/> is false), in place: the parameters stay the same objects, so
    /// optimizers and references to them keep working. Their values are unchanged.
    /// </summary>
    public static void SetConvolutionLayout(nn.Module model, bool channelsLast)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var weight in ConvolutionWeights(model)) SetLayout(weight, channelsLast);
    }

    /// <summary>
    /// <see cref="SetConvolutionLayout"/> until the result is disposed, which puts back the weights it changed (so
    /// nesting, or a model already in the layout, leaves things as they were).
    /// </summary>
    public static IDisposable UseConvolutionLayout(nn.Module model, bool channelsLast)
    {
        ArgumentNullException.ThrowIfNull(model);
        var changed = ConvolutionWeights(model).Where(w => !HasLayout(w, channelsLast)).ToList();
        foreach (var weight in changed) SetLayout(weight, channelsLast);
        return new Restore(changed, !channelsLast);
    }

    private sealed class Restore(List<Parameter> weights, bool channelsLast) : IDisposable
    {
        public void Dispose()
        {
            foreach (var weight in weights.Where(w => !w.IsInvalid)) SetLayout(weight, channelsLast);
            weights.Clear();
        }
    }

    private static IEnumerable<Parameter> ConvolutionWeights(nn.Module model) =>
        model.named_modules().Select(m => m.module).OfType<Conv2d>().Select(c => c.weight).ToList();

    private static bool HasLayout(Tensor weight, bool channelsLast) => channelsLast ? IsChannelsLast(weight) : weight.is_contiguous();

    private static void SetLayout(Parameter weight, bool channelsLast)
    {
        if (HasLayout(weight, channelsLast)) return;
        using var noGrad = no_grad();
        using var laidOut = channelsLast ? ToChannelsLast(weight) : weight.contiguous();
        // set_ changes the weight in place (same Parameter object) and returns it.
        weight.set_(laidOut);
    }
}
