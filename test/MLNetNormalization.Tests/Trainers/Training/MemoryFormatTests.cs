using MLNetNormalization.Tests.Support;
using MLNetNormalization.Backbones;
using MLNetNormalization.Training;
using static MLNetNormalization.Tests.Trainers.Training.TrainerRuns;

namespace MLNetNormalization.Tests.Trainers.Training;

/// <summary>
/// The channels-last layout: strides written out by hand for NHWC, values and parameter identity kept, and training
/// in either layout learning the same function (libtorch's kernels differ only in rounding) while leaving the
/// caller's weights in the layout they had.
/// </summary>
[Collection(TestCollections.GlobalRandom)]
public sealed class MemoryFormatTests
{
    [Fact]
    public void ChannelsLastKeepsSizesAndValuesWithNhwcStrides()
    {
        using var scope = NewDisposeScope();
        var x = TestData.Float32(TestData.Uniform(1, 2 * 3 * 4 * 5), 2, 3, 4, 5);
        Assert.False(MemoryFormat.IsChannelsLast(x));

        var laidOut = MemoryFormat.ToChannelsLast(x);

        Assert.Equal([2L, 3, 4, 5], laidOut.shape);
        // NHWC in memory: C varies fastest (1), then W (C = 3), H (W·C = 15), N (H·W·C = 60).
        Assert.Equal([60L, 1, 15, 3], laidOut.stride());
        Assert.True(MemoryFormat.IsChannelsLast(laidOut));
        Assert.Equal(TestData.Values(x), TestData.Values(laidOut));
        Assert.Throws<ArgumentException>(() => MemoryFormat.ToChannelsLast(x.flatten(1)));
    }

    [Fact]
    public void ConvolutionWeightsChangeLayoutInPlaceAndComeBack()
    {
        torch.manual_seed(7);
        using var model = new ResNetCifar(20);
        var weights = model.named_modules().Select(m => m.module).OfType<TorchSharp.Modules.Conv2d>().Select(c => c.weight).ToList();
        var before = weights.Select(TestData.Values).ToList();

        using (MemoryFormat.UseConvolutionLayout(model, channelsLast: true))
        {
            // The same Parameter objects, now NHWC in memory (a 1-channel-in kernel may be both layouts at once).
            Assert.All(weights, w => Assert.True(MemoryFormat.IsChannelsLast(w)));
            Assert.Equal(weights, model.named_modules().Select(m => m.module).OfType<TorchSharp.Modules.Conv2d>().Select(c => c.weight));
            Assert.Equal(before, weights.Select(TestData.Values));
        }
        Assert.All(weights, w => Assert.True(w.is_contiguous()));
        Assert.Equal(before, weights.Select(TestData.Values));
    }

    [Fact]
    public void BothLayoutsTrainTheSameFunctionAndLeaveTheWeightsContiguous()
    {
        // No augmentation or dropout differences: the same seed draws the same batches and masks in both runs.
        var options = Options() with { Epochs = 1 };
        using var channelsLast = TinyNet.Create(initSeed: 5);
        using var contiguous = TinyNet.Create(initSeed: 5);
        new ClassifierTrainer(options with { ChannelsLast = true }).Train(channelsLast, Train);
        new ClassifierTrainer(options with { ChannelsLast = false }).Train(contiguous, Train);

        var trained = channelsLast.state_dict();
        foreach (var (name, value) in contiguous.state_dict())
        {
            Assert.True(trained[name].is_contiguous(), $"{name} was left in the channels-last layout after training");
            // 8 steps of SGD with momentum from the same start: only float32 rounding differs between the kernels.
            Expect.Close(TestData.Values(value), TestData.Values(trained[name]), absolute: 1e-4, relative: 1e-3, what: name);
        }
    }
}
