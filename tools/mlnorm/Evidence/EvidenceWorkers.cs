using System.Diagnostics;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace MLNetNormalization.Tools.Mlnorm.Evidence;

/// <summary>What a worker process needs to load the same data as the command that started it.</summary>
internal sealed record WorkerSettings(bool Quick, int Seeds, string FashionDirectory, string MnistDirectory)
{
    /// <summary>The worker's command line after <c>mlnorm.dll</c>.</summary>
    public IEnumerable<string> Arguments() =>
    [
        "evidence", EvidenceWorker.CommandName, .. Quick ? ["--quick"] : Array.Empty<string>(),
        "--seeds", Seeds.ToString(CultureInfo.InvariantCulture), "--fashion-mnist", FashionDirectory, "--mnist", MnistDirectory,
    ];
}

/// <summary>
/// The runs of `mlnorm evidence`, each trained in one of several worker processes (`mlnorm evidence worker`), a run at a
/// time per worker, each worker single-threaded. Processes rather than threads: TorchSharp does not promise that
/// training in several threads of one process is safe, and here it was not (one in several hundred runs failed inside
/// libtorch's addcmul on a corrupted scalar), while separate processes share nothing. A run's numbers depend only on
/// its spec, not on the worker or the order.
/// </summary>
internal static class EvidenceWorkerPool
{
    /// <summary>Runs every request (the same spec asked twice is trained once, measuring what either asked); returns the measurements by spec.</summary>
    public static IReadOnlyDictionary<RunSpec, RunMeasurement> Run(IReadOnlyList<RunRequest> requests, WorkerSettings settings, int workers,
                                                                   Action<string> log, CancellationToken cancellation)
    {
        var queue = new Queue<RunRequest>(requests.GroupBy(r => r.Spec)
            .Select(g => new RunRequest(g.Key, g.Any(r => r.SweepAlpha), g.Any(r => r.MeasureGates)))
            // Small batches first: they take longest, and starting them early keeps the workers busy to the end.
            .OrderBy(r => r.Spec.BatchSize).ThenBy(r => r.Spec.Task).ThenBy(r => r.Spec.Normalizer, StringComparer.Ordinal).ThenBy(r => r.Spec.Seed));
        var total = queue.Count;
        var results = new Dictionary<RunSpec, RunMeasurement>();
        var clock = Stopwatch.StartNew();
        // A failed worker stops the others: its error is the one to report.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);

        void Serve()
        {
            using var worker = WorkerProcess.Start(settings, stop.Token);
            while (true)
            {
                RunRequest request;
                lock (queue)
                {
                    if (queue.Count == 0) break;
                    request = queue.Dequeue();
                }
                var measurement = worker.Measure(request);
                lock (queue)
                {
                    results[request.Spec] = measurement;
                    // One line at a time: the caller's writer need not be thread-safe.
                    log(string.Create(CultureInfo.InvariantCulture,
                        $"[{results.Count}/{total}, {clock.Elapsed.TotalMinutes:F1} min] {request.Spec}: test error {100 * measurement.TestError:F2}% ({measurement.TrainSeconds:F0} s training)"));
                }
            }
        }

        var tasks = Enumerable.Range(0, Math.Min(workers, total)).Select(_ => Task.Run(() =>
        {
            try
            {
                Serve();
            }
            catch
            {
                stop.Cancel();
                throw;
            }
        })).ToArray();
        try
        {
            Task.WaitAll(tasks);
        }
        catch (AggregateException failed)
        {
            cancellation.ThrowIfCancellationRequested();
            // The failure that stopped the others, not their cancellations.
            var first = failed.InnerExceptions.FirstOrDefault(e => e is not OperationCanceledException) ?? failed.InnerExceptions[0];
            ExceptionDispatchInfo.Capture(first).Throw();
        }
        return results;
    }

    /// <summary>One `mlnorm evidence worker` process: run requests go in on its stdin and measurements come out on its stdout, one JSON line each.</summary>
    private sealed class WorkerProcess : IDisposable
    {
        private readonly Process process;
        private readonly StringBuilder errors = new();
        private readonly CancellationTokenRegistration killOnCancel;
        private readonly CancellationToken cancellation;

        private WorkerProcess(Process process, CancellationToken cancellation)
        {
            this.process = process;
            this.cancellation = cancellation;
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                lock (errors) errors.AppendLine(e.Data);
            };
            process.BeginErrorReadLine();
            killOnCancel = cancellation.Register(Kill);
        }

        /// <summary>The dotnet host that runs this process: the SDK's when set, else the one above the shared runtime in use.</summary>
        private static string DotnetHost()
        {
            if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
            var name = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
            // <root>/shared/Microsoft.NETCore.App/<version>/
            var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
            var candidate = Path.Combine(root, name);
            if (File.Exists(candidate)) return candidate;
            if (Environment.ProcessPath is { } self && Path.GetFileName(self) == name) return self;
            return name;
        }

        public static WorkerProcess Start(WorkerSettings settings, CancellationToken cancellation)
        {
            var tool = Path.Combine(AppContext.BaseDirectory, "mlnorm.dll");
            if (!File.Exists(tool))
                throw new InvalidOperationException($"{tool} is missing, so no evidence worker can start; reinstall mlnorm (or rebuild tools/mlnorm).");
            var start = new ProcessStartInfo(DotnetHost())
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            start.ArgumentList.Add(tool);
            foreach (var argument in settings.Arguments()) start.ArgumentList.Add(argument);
            var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName} {tool} as an evidence worker.");
            return new WorkerProcess(process, cancellation);
        }

        public RunMeasurement Measure(RunRequest request)
        {
            cancellation.ThrowIfCancellationRequested();
            process.StandardInput.WriteLine(JsonSerializer.Serialize(request, EvidenceWorker.Json));
            process.StandardInput.Flush();
            var line = process.StandardOutput.ReadLine();
            cancellation.ThrowIfCancellationRequested();
            if (line is null)
            {
                process.WaitForExit();
                string stderr;
                lock (errors) stderr = errors.ToString();
                throw new InvalidOperationException($"Run '{request.Spec}' failed: its worker process exited with code {process.ExitCode}: {ModelPipeline.OneLine(stderr)}");
            }
            return JsonSerializer.Deserialize<RunMeasurement>(line, EvidenceWorker.Json)
                   ?? throw new InvalidOperationException($"Run '{request.Spec}': its worker process answered '{line}', not a measurement.");
        }

        private void Kill()
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already exited.
            }
        }

        public void Dispose()
        {
            killOnCancel.Dispose();
            if (!process.HasExited)
            {
                // No more requests: the worker ends when its stdin closes.
                process.StandardInput.Close();
                if (!process.WaitForExit(TimeSpan.FromSeconds(30))) Kill();
            }
            process.Dispose();
        }
    }
}

/// <summary>The worker side: `mlnorm evidence worker` loads the data once, then trains and measures each run request it reads.</summary>
internal static class EvidenceWorker
{
    public const string CommandName = "worker";

    /// <summary>One JSON value per line, in both directions.</summary>
    public static readonly JsonSerializerOptions Json = new(EvidenceResults.Json) { WriteIndented = false };

    /// <summary>Answers each request line of <paramref name="input"/> with a measurement line on <paramref name="output"/> until the input ends.</summary>
    public static void Serve(TextReader input, TextWriter output, EvidenceRunner runner, CancellationToken cancellation)
    {
        // One thread per run: the pool runs as many workers as there are cores.
        TorchSharp.torch.set_num_threads(1);
        while (input.ReadLine() is { } line)
        {
            var request = JsonSerializer.Deserialize<RunRequest>(line, Json)
                          ?? throw new InvalidDataException($"The evidence worker expects one run request per line, got '{line}'.");
            output.WriteLine(JsonSerializer.Serialize(runner.Measure(request, cancellation), Json));
            output.Flush();
        }
    }
}
