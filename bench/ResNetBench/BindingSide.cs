using System.Diagnostics;
using MLNetNormalization.Trainers.Backbones;
using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.NN;
using MLNetNormalization.TorchBinding.Optim;

namespace MLNetNormalization.Bench;

/// <summary>One round of the C# side: step times plus what shows that the binding leaks nothing.</summary>
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
/// ResNet-20 (option A, libtorch BatchNorm2d) trained on one fixed random batch through the binding,
/// built once and reused by every round, as bench/pytorch_resnet20.py does in PyTorch.
/// </summary>
internal sealed class BindingSide : IDisposable
{
    public const long ExpectedParameters = 269_722;

    private readonly ResNetCifar model;
    private readonly SGD optimizer;
    private readonly Tensor x, y;

    public BindingSide(int threads, int batch)
    {
        Torch.Threads = threads;
        if (Torch.Threads != threads)
            throw new InvalidOperationException($"libtorch runs {Torch.Threads} threads after asking for {threads}.");
        Torch.ManualSeed(0);

        model = new ResNetCifar(20);
        model.Train();
        ParameterCount = model.Parameters().Sum(p => p.ElementCount);
        if (ParameterCount != ExpectedParameters)
            throw new InvalidOperationException(
                $"ResNetCifar(20) has {ParameterCount:N0} parameters, not the {ExpectedParameters:N0} of the option-A ResNet-20 that " +
                "bench/pytorch_resnet20.py builds: the two sides would not time the same network.");
        var modules = model.NamedModules().Select(m => m.Module).ToList();
        Conv2dCount = modules.Count(m => m is Conv2d);
        BatchNormCount = modules.Count(m => m is BatchNorm2d);
        LinearCount = modules.Count(m => m is Linear);

        x = Torch.Randn([batch, 3, 32, 32]);
        y = Torch.RandInt(0, 10, [batch]);
        optimizer = new SGD(model.Parameters(), learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4);
    }

    public long ParameterCount { get; }
    public int Conv2dCount { get; }
    public int BatchNormCount { get; }
    public int LinearCount { get; }

    /// <summary>The training step that is timed: exactly the step of the issue.</summary>
    private void Step()
    {
        using var scope = Torch.NewDisposeScope();
        optimizer.ZeroGrad();
        var loss = Functional.CrossEntropy(model.Forward(x), y);
        loss.Backward();
        optimizer.Step();
    }

    public BindingRound RunRound(int warmup, int steps)
    {
        for (var i = 0; i < warmup; i++) Step();

        var times = new double[steps];
        var liveBefore = Torch.LiveTensorCount;
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
        var liveAfter = Torch.LiveTensorCount;
        var collections = (GC.CollectionCount(0) - gen0, GC.CollectionCount(1) - gen1, GC.CollectionCount(2) - gen2);

        // One more (untimed) step to read the loss: a NaN would mean the two sides do not time the same arithmetic.
        double lastLoss;
        using (Torch.NewDisposeScope())
        {
            optimizer.ZeroGrad();
            var loss = Functional.CrossEntropy(model.Forward(x), y);
            loss.Backward();
            optimizer.Step();
            lastLoss = loss.Item<float>();
        }
        return new BindingRound(times, liveBefore, liveAfter, collections.Item1, collections.Item2, collections.Item3, bytesPerStep, faultsPerStep, lastLoss);
    }

    /// <summary>
    /// Diagnostic (--diagnose): times the phases of the step (every handle of the step owned by one scope until
    /// the end) against the same step with the forward pass in an inner scope that frees its intermediate handles before
    /// backward (the autograd graph keeps what it needs, as in PyTorch, where intermediates die with their last reference).
    /// The two forms alternate step by step in this process, so that both see the same machine.
    /// </summary>
    public IReadOnlyList<PhaseTimes> Diagnose(int warmup, int steps)
    {
        var samples = new[] { new List<double[]>(), new List<double[]>() };
        for (var i = 0; i < 2 * (warmup + steps); i++)
        {
            var form = i % 2;
            var faults = ProcessStat.MinorFaults();
            var start = Stopwatch.GetTimestamp();
            double forward, backward, update;
            using (Torch.NewDisposeScope())
            {
                optimizer.ZeroGrad();
                Tensor loss;
                if (form == 0)
                {
                    loss = Functional.CrossEntropy(model.Forward(x), y);
                }
                else
                {
                    using var inner = Torch.NewDisposeScope();
                    loss = Functional.CrossEntropy(model.Forward(x), y).MoveToOuterDisposeScope();
                }
                forward = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                loss.Backward();
                backward = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                optimizer.Step();
                update = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            var total = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (i >= 2 * warmup)
                samples[form].Add([forward, backward - forward, update - backward, total - update, total, ProcessStat.MinorFaults() - faults]);
        }
        return samples.Select((list, form) =>
        {
            double Median(int column) => Stats.Median(list.Select(sample => sample[column]));
            return new PhaseTimes(form == 0 ? "issue's step (one scope holds every handle until the end)" : "forward in an inner scope (intermediates freed before backward)",
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
