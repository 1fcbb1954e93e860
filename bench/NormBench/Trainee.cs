using System.Diagnostics;
using MLNetNormalization.Backbones;
using MLNetNormalization.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetNormalization.Bench;

/// <summary>One timed round of one normalizer: step times, what others took of the CPU meanwhile, and a sanity check.</summary>
internal sealed record Measurement(IReadOnlyList<double> StepSeconds, double OtherCpuShare, long LiveTensorsBefore, long LiveTensorsAfter, int HandlesPerStep, double Loss)
{
    public double Median => Stats.Median(StepSeconds);
}

/// <summary>A reading of the memory phase: after how many steps, TorchSharp's live tensors on this thread and the process's resident memory.</summary>
internal sealed record MemorySample(int Step, long LiveTensors, long ResidentBytes);

/// <summary>One model's memory phase: its samples, the highest resident memory read after any step, and the phase's duration.</summary>
internal sealed record MemoryTrace(IReadOnlyList<MemorySample> Samples, long MaxResidentBytes, double Seconds);

/// <summary>
/// Median phase times (seconds) of one normalizer's step, and the TorchSharp tensors its forward and its whole step create
/// (every dispose scope, the layers' own included; about one per libtorch op issued from .NET).
/// </summary>
internal sealed record Phases(double Forward, double Backward, double Update, double ScopeDispose, double Total, double TensorsForward, double TensorsStep);

/// <summary>
/// A ResNet-20 whose normalization layers one factory builds (a NormalizerFactory string's, or a TorchSharp module's),
/// its SGD and its batch. Every measurement starts from a freshly built model (torch.manual_seed(0)), so that every round
/// times the same steps from the same initialization: a model trained on for many rounds would drift towards a memorised
/// batch (or, with lr 0.1 and a small batch, towards divergence) and time different arithmetic from round to round.
/// </summary>
internal sealed class Trainee : IDisposable
{
    private readonly Func<long, nn.Module<Tensor, Tensor>> normalization;
    private readonly Tensor x, y;
    private ResNetCifar? model;
    private SGD? optimizer;

    /// <param name="normalization">Builds a normalization layer for a channel count, as ResNetCifar takes it.</param>
    /// <param name="x">The batch, shared by every trainee of a batch size (not disposed here), in the layout to time.</param>
    /// <param name="channelsLast">Lay the convolution weights out channels-last, as the engine does by default.</param>
    public Trainee(string label, Func<long, nn.Module<Tensor, Tensor>> normalization, Tensor x, Tensor y, bool channelsLast)
    {
        Label = label;
        this.normalization = normalization;
        ChannelsLast = channelsLast;
        this.x = x;
        this.y = y;
        Rebuild();
        ParameterCount = model!.parameters().Sum(p => p.numel());
    }

    /// <summary>Builds the model and its optimizer afresh, from torch.manual_seed(0).</summary>
    private void Rebuild()
    {
        optimizer?.Dispose();
        model?.Dispose();
        torch.manual_seed(0);
        NormalizationLayers = 0;
        model = new ResNetCifar(20, normalization: channels =>
        {
            NormalizationLayers++;
            return normalization(channels);
        });
        model.train();
        if (ChannelsLast) MemoryFormat.SetConvolutionLayout(model, channelsLast: true);
        optimizer = optim.SGD(model.parameters(), 0.1, momentum: 0.9, weight_decay: 1e-4);
    }

    public bool ChannelsLast { get; }

    /// <summary>How many normalization layers the model has (19 in ResNet-20).</summary>
    public int NormalizationLayers { get; private set; }

    /// <summary>Tensors created on this thread and not yet disposed (TorchSharp's own count).</summary>
    private static long LiveTensors => DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;

    /// <summary>Tensors created on this thread so far, inside dispose scopes or not (TorchSharp's own counts).</summary>
    private static long CreatedTensors
    {
        get
        {
            var statistics = DisposeScopeManager.Statistics.TensorStatistics;
            return statistics.CreatedInScopeCount + statistics.CreatedOutsideScopeCount;
        }
    }

    public string Label { get; }
    public long ParameterCount { get; }

    /// <summary>Set when a step threw (a normalizer that rejects its input after the training diverged, say); the trainee is not timed again.</summary>
    public string? Failure { get; set; }

    /// <summary>The training step that is timed: zero-grad, forward, cross-entropy, backward, SGD step, in one dispose scope.</summary>
    /// <returns>How many tensor handles the step created (those its scope owned at the end): about one per native op.</returns>
    private int Step()
    {
        using var scope = NewDisposeScope();
        optimizer!.zero_grad();
        var loss = nn.functional.cross_entropy(model!.call(x), y);
        loss.backward();
        optimizer.step();
        return scope.DisposablesCount;
    }

    /// <summary>Rebuilds the model, runs <paramref name="warmup"/> untimed steps, then times <paramref name="steps"/> steps.</summary>
    public Measurement Run(int warmup, int steps)
    {
        Rebuild();
        for (var i = 0; i < warmup; i++) Step();
        var times = new double[steps];
        var handles = 0;
        var liveBefore = LiveTensors;
        var cpuStart = CpuSnapshot.Take();
        for (var i = 0; i < steps; i++)
        {
            var start = Stopwatch.GetTimestamp();
            handles = Step();
            times[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        var (other, capacity) = CpuSnapshot.Others(cpuStart, CpuSnapshot.Take());
        var liveAfter = LiveTensors;
        return new Measurement(times, other / capacity, liveBefore, liveAfter, handles, Loss());
    }

    /// <summary>
    /// Rebuilds the model and trains it <paramref name="steps"/> steps, reading the live tensors and resident memory after step
    /// <paramref name="warmup"/>, every <paramref name="interval"/> steps after it, and after the last; the resident memory
    /// after every step, for its maximum.
    /// </summary>
    public MemoryTrace TraceMemory(int steps, int warmup, int interval)
    {
        Rebuild();
        var samples = new List<MemorySample>();
        long maxResident = 0;
        var start = Stopwatch.GetTimestamp();
        for (var step = 1; step <= steps; step++)
        {
            Step();
            var resident = ProcessStat.ResidentBytes();
            maxResident = Math.Max(maxResident, resident);
            if (step == steps || (step >= warmup && (step - warmup) % interval == 0))
                samples.Add(new MemorySample(step, LiveTensors, resident));
        }
        return new MemoryTrace(samples, maxResident, Stopwatch.GetElapsedTime(start).TotalSeconds);
    }

    /// <summary>The loss on the batch (forward only, no update): a non-finite loss would mean the timing is of NaN arithmetic.</summary>
    private double Loss()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return nn.functional.cross_entropy(model!.call(x), y).item<float>();
    }

    /// <summary>--profile: phase times and created tensors of <paramref name="steps"/> steps after <paramref name="warmup"/>, medians.</summary>
    public Phases Profile(int warmup, int steps)
    {
        Rebuild();
        var samples = new List<double[]>();
        for (var i = 0; i < warmup + steps; i++)
        {
            var created = CreatedTensors;
            var start = Stopwatch.GetTimestamp();
            double forward, backward, update, tensorsForward, tensorsStep;
            using (NewDisposeScope())
            {
                optimizer!.zero_grad();
                var loss = nn.functional.cross_entropy(model!.call(x), y);
                forward = Stopwatch.GetElapsedTime(start).TotalSeconds;
                tensorsForward = CreatedTensors - created;
                loss.backward();
                backward = Stopwatch.GetElapsedTime(start).TotalSeconds;
                optimizer.step();
                update = Stopwatch.GetElapsedTime(start).TotalSeconds;
                tensorsStep = CreatedTensors - created;
            }
            var total = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (i >= warmup) samples.Add([forward, backward - forward, update - backward, total - update, total, tensorsForward, tensorsStep]);
        }
        double Median(int column) => Stats.Median(samples.Select(s => s[column]));
        return new Phases(Median(0), Median(1), Median(2), Median(3), Median(4), Median(5), Median(6));
    }

    public void Dispose()
    {
        optimizer?.Dispose();
        model?.Dispose();
    }
}
