using System.Diagnostics;
using MLNetNormalization.Backbones;
using MLNetNormalization.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetNormalization.Bench;

/// <summary>One round of the C# side: step times plus what shows that nothing leaks.</summary>
internal sealed record BindingRound(
    IReadOnlyList<double> StepSeconds,
    long LiveTensorsBefore,
    long LiveTensorsAfter,
    int Gen0Collections,
    int Gen1Collections,
    int Gen2Collections,
    long ManagedBytesPerStep,
    long MinorFaultsPerStep,
    double LastLoss)
{
    public double Median => Stats.Median(StepSeconds);
}

/// <summary>Median phase times (ms) of one step form, and minor page faults per step.</summary>
internal sealed record PhaseTimes(string Form, double Forward, double Backward, double Update, double ScopeDispose, double Total, double MinorFaults);

/// <summary>
/// ResNet-20 (option A, TorchSharp's BatchNorm2d) trained on one fixed random batch through TorchSharp, built once
/// and reused by every round, as bench/pytorch_resnet20.py does in PyTorch. With <c>channelsLast</c>, the batch and
/// every convolution weight are laid out channels-last (the engine's <see cref="TrainingOptions.ChannelsLast"/>).
/// </summary>
internal sealed class TorchSharpSide : IDisposable
{
    public const long ExpectedParameters = 269_722;

    private readonly ResNetCifar model;
    private readonly SGD optimizer;
    private readonly Tensor x, y;

    public TorchSharpSide(int threads, int batch, bool channelsLast)
    {
        // The Normalization assembly sets glibc's malloc thresholds when it loads; ResNetCifar with TorchSharp's
        // BatchNorm2d touches none of its types, so load it before the first tensor, as any model of our layers would.
        System.Runtime.CompilerServices.RuntimeHelpers.RunModuleConstructor(
            typeof(MLNetNormalization.Normalization.NormalizationLayer).Module.ModuleHandle);
        torch.set_num_threads(threads);
        if (torch.get_num_threads() != threads)
            throw new InvalidOperationException($"libtorch runs {torch.get_num_threads()} threads after asking for {threads}.");
        torch.manual_seed(0);
        ChannelsLast = channelsLast;

        model = new ResNetCifar(20);
        model.train();
        ParameterCount = model.parameters().Sum(p => p.numel());
        if (ParameterCount != ExpectedParameters)
            throw new InvalidOperationException(
                $"ResNetCifar(20) has {ParameterCount:N0} parameters, not the {ExpectedParameters:N0} of the option-A ResNet-20 that " +
                "bench/pytorch_resnet20.py builds: the two sides would not time the same network.");
        var modules = model.named_modules().Select(m => m.module).ToList();
        Conv2dCount = modules.Count(m => m is Conv2d);
        BatchNormCount = modules.Count(m => m is BatchNorm2d);
        LinearCount = modules.Count(m => m is Linear);

        var input = randn(batch, 3, 32, 32);
        x = channelsLast ? MemoryFormat.ToChannelsLast(input) : input.alias();
        input.Dispose();
        y = randint(0, 10, [batch]);
        if (channelsLast) MemoryFormat.SetConvolutionLayout(model, channelsLast: true);
        optimizer = optim.SGD(model.parameters(), 0.1, momentum: 0.9, weight_decay: 1e-4);
    }

    public bool ChannelsLast { get; }
    public long ParameterCount { get; }
    public int Conv2dCount { get; }
    public int BatchNormCount { get; }
    public int LinearCount { get; }

    /// <summary>Tensors created on this thread and not yet disposed (TorchSharp's own count).</summary>
    public static long LiveTensors => DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;

    /// <summary>The training step that is timed.</summary>
    private void Step()
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        var loss = nn.functional.cross_entropy(model.call(x), y);
        loss.backward();
        optimizer.step();
    }

    public BindingRound RunRound(int warmup, int steps)
    {
        for (var i = 0; i < warmup; i++) Step();

        var times = new double[steps];
        var liveBefore = LiveTensors;
        var gen0 = GC.CollectionCount(0);
        var gen1 = GC.CollectionCount(1);
        var gen2 = GC.CollectionCount(2);
        var faults = ProcessStat.MinorFaults();
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < steps; i++)
        {
            var start = Stopwatch.GetTimestamp();
            Step();
            times[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        var bytesPerStep = (GC.GetAllocatedBytesForCurrentThread() - allocated) / steps;
        var faultsPerStep = (ProcessStat.MinorFaults() - faults) / steps;
        var liveAfter = LiveTensors;
        var collections = (GC.CollectionCount(0) - gen0, GC.CollectionCount(1) - gen1, GC.CollectionCount(2) - gen2);

        // One more (untimed) step to read the loss: a NaN would mean the two sides do not time the same arithmetic.
        double lastLoss;
        using (NewDisposeScope())
        {
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(x), y);
            loss.backward();
            optimizer.step();
            lastLoss = loss.item<float>();
        }
        return new BindingRound(times, liveBefore, liveAfter, collections.Item1, collections.Item2, collections.Item3, bytesPerStep, faultsPerStep, lastLoss);
    }

    /// <summary>
    /// Diagnostic (--diagnose): the phases (forward, backward, SGD update, scope dispose) of one step of each side,
    /// the sides taking turns step by step in this process, so that both see the same machine.
    /// </summary>
    public static IReadOnlyList<PhaseTimes> Diagnose(IReadOnlyList<TorchSharpSide> sides, int warmup, int steps)
    {
        var samples = sides.Select(_ => new List<double[]>()).ToArray();
        for (var i = 0; i < sides.Count * (warmup + steps); i++)
        {
            var form = i % sides.Count;
            var side = sides[form];
            var faults = ProcessStat.MinorFaults();
            var start = Stopwatch.GetTimestamp();
            double forward, backward, update;
            using (NewDisposeScope())
            {
                side.optimizer.zero_grad();
                var loss = nn.functional.cross_entropy(side.model.call(side.x), side.y);
                forward = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                loss.backward();
                backward = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                side.optimizer.step();
                update = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            var total = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (i >= sides.Count * warmup)
                samples[form].Add([forward, backward - forward, update - backward, total - update, total, ProcessStat.MinorFaults() - faults]);
        }
        return samples.Select((list, form) =>
        {
            double Median(int column) => Stats.Median(list.Select(sample => sample[column]));
            return new PhaseTimes(sides[form].ChannelsLast ? "channels-last (batch and conv weights)" : "contiguous NCHW",
                Median(0), Median(1), Median(2), Median(3), Median(4), Median(5));
        }).ToList();
    }

    public void Dispose()
    {
        optimizer.Dispose();
        model.Dispose();
        x.Dispose();
        y.Dispose();
    }
}
