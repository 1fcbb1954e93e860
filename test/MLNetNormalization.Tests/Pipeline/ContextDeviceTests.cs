using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>
/// ML.NET's device conventions, as Microsoft.ML.TorchSharp's trainers follow them: <c>MLContext.GpuDeviceId</c> asks for
/// a GPU when the options leave the device to the context (<see cref="ComputeDevice.Auto"/>), and
/// <c>MLContext.FallbackToCpu</c> decides what happens where TorchSharp has none. These run where TorchSharp has no CUDA
/// device (TorchSharp-cpu), which is what they are about.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class ContextDeviceTests
{
    [Fact]
    public void A_GpuDeviceId_without_a_GPU_is_refused_before_any_row_is_read_naming_the_package_and_FallbackToCpu()
    {
        if (torch.cuda.is_available()) return;
        var ml = new MLContext(seed: 1) { GpuDeviceId = 0 };
        var rowsRead = 0;
        var rows = SyntheticImages.Rows(4, 3).Select(row =>
        {
            rowsRead++;
            return row;
        });
        var pipeline = PipelineFixture.MakePipeline(ml, ContextOptions());
        var error = Assert.Throws<ArgumentException>(() => pipeline.Fit(ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("MLContext.GpuDeviceId is 0, but TorchSharp finds no CUDA GPU", error.Message);
        Assert.Contains("TorchSharp-cuda-linux", error.Message);
        Assert.Contains("MLContext.FallbackToCpu = true", error.Message);
        Assert.Equal(0, rowsRead);
    }

    [Fact]
    public void With_FallbackToCpu_a_GpuDeviceId_without_a_GPU_trains_on_the_CPU_says_so_and_gives_the_CPU_model()
    {
        if (torch.cuda.is_available()) return;
        var warnings = new List<string>();
        var fallback = new MLContext(seed: 1) { GpuDeviceId = 0, FallbackToCpu = true };
        fallback.Log += (_, e) => { if (e.Kind == ChannelMessageKind.Warning) lock (warnings) warnings.Add(e.Message); };
        var scores = TrainAndScore(fallback);

        Assert.Contains(warnings, w => w.Contains("MLContext.GpuDeviceId is 0, but TorchSharp finds no CUDA GPU (torch.cuda.is_available() is false); " +
                                                  "training on the CPU, as MLContext.FallbackToCpu allows.", StringComparison.Ordinal));
        // The oracle: the same seed and data in a context that asks for no GPU train on the CPU; the scores must be those.
        Assert.Equal(TrainAndScore(new MLContext(seed: 1)), scores);
    }

    [Fact]
    public void The_options_Cpu_overrides_the_contexts_GpuDeviceId()
    {
        var warnings = new List<string>();
        var ml = new MLContext(seed: 1) { GpuDeviceId = 0 };
        ml.Log += (_, e) => { if (e.Kind == ChannelMessageKind.Warning) lock (warnings) warnings.Add(e.Message); };
        var options = ContextOptions();
        options.Device = ComputeDevice.Cpu;
        var model = PipelineFixture.MakePipeline(ml, options).Fit(ml.Data.LoadFromEnumerable(SyntheticImages.Rows(4, 3)));
        model.OfType<ImageClassificationTransformer>().Single().Dispose();
        Assert.DoesNotContain(warnings, w => w.Contains("GpuDeviceId", StringComparison.Ordinal));
    }

    /// <summary>The fixture's small options with the device left to the context.</summary>
    private static ImageClassifierWithNormOptions ContextOptions()
    {
        var options = PipelineFixture.SmallOptions();
        options.Device = ComputeDevice.Auto;
        options.Epochs = 1;
        return options;
    }

    private static List<float[]> TrainAndScore(MLContext ml)
    {
        var model = PipelineFixture.MakePipeline(ml, ContextOptions()).Fit(ml.Data.LoadFromEnumerable(SyntheticImages.Rows(8, 3)));
        try
        {
            return Columns.Vectors(model.Transform(ml.Data.LoadFromEnumerable(SyntheticImages.Rows(4, 4)))).ToList();
        }
        finally
        {
            model.OfType<ImageClassificationTransformer>().Single().Dispose();
        }
    }
}
