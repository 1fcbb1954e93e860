using System.Globalization;
using MLNetNormalization.Training;
using Spectre.Console;

namespace MLNetNormalization.Tools.Mlnorm;

/// <summary>
/// Training progress: on a terminal, Spectre.Console's live display with a bar per epoch (and one per sweep trial) and
/// its ETA; otherwise (output redirected, as in logs and tests) one plain line per report.
/// </summary>
internal sealed class ProgressDisplay(IAnsiConsole console, TextWriter plain, bool live)
{
    private ProgressContext? _context;
    private ProgressTask? _epochTask;
    private ProgressTask? _trialTask;
    private int _epochShown = -1;

    /// <summary>Runs <paramref name="work"/> under the live display (or plainly).</summary>
    public T Run<T>(Func<T> work)
    {
        if (!live) return work();
        T result = default!;
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                     new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                _context = context;
                try
                {
                    result = work();
                }
                finally
                {
                    _context = null;
                }
            });
        return result;
    }

    /// <summary>A line of text (above the live display, or plain).</summary>
    public void Line(string text)
    {
        if (live) console.MarkupLine(Markup.Escape(text));
        else plain.WriteLine(text);
    }

    /// <summary>A sweep trial starts: a bar of its own over the trial's epochs.</summary>
    public void TrialStarted(int trial, int trials, string name, int epochs)
    {
        _epochShown = -1;
        if (_context is { } context)
        {
            _trialTask?.StopTask();
            _trialTask = context.AddTask(Markup.Escape($"trial {trial}/{trials} {name}"), maxValue: Math.Max(epochs, 1));
        }
        else plain.WriteLine($"trial {trial}/{trials} {name}: {epochs} epochs");
    }

    /// <summary>A sweep trial ends.</summary>
    public void TrialFinished(string summary)
    {
        if (_trialTask is { } task)
        {
            task.Value = task.MaxValue;
            task.Description = Markup.Escape(summary);
            task.StopTask();
            _trialTask = null;
        }
        else plain.WriteLine(summary);
    }

    /// <summary>A training progress report.</summary>
    public void Report(TrainingProgress p)
    {
        var text = Describe(p);
        if (_context is { } context)
        {
            if (_epochShown != p.Epoch || _epochTask is null)
            {
                _epochTask?.StopTask();
                _epochTask = context.AddTask(Markup.Escape($"epoch {p.Epoch}/{p.Epochs}"), maxValue: Math.Max(p.StepsPerEpoch, 1));
                _epochShown = p.Epoch;
            }
            _epochTask.Value = p.Phase == TrainingPhase.EpochEnd ? p.StepsPerEpoch : p.Step;
            _epochTask.Description = Markup.Escape(text);
            if (p.Phase == TrainingPhase.EpochEnd)
            {
                _epochTask.StopTask();
                if (_trialTask is { } trial) trial.Value = p.Epoch;
            }
            return;
        }
        plain.WriteLine(text);
    }

    private static string Describe(TrainingProgress p)
    {
        var inv = CultureInfo.InvariantCulture;
        if (p.Phase == TrainingPhase.Step)
            return string.Format(inv, "epoch {0}/{1} step {2}/{3} loss {4:F4} acc {5:P1} {6:F0} img/s ETA {7:hh\\:mm\\:ss}",
                p.Epoch, p.Epochs, p.Step, p.StepsPerEpoch, p.Loss, p.Accuracy, p.ImagesPerSecond, p.EstimatedRemaining);
        var validation = p.Validation is { } v ? string.Format(inv, " val loss {0:F4} val acc {1:P1}", v.LogLoss, v.MicroAccuracy) : "";
        return string.Format(inv, "epoch {0}/{1} done: loss {2:F4} acc {3:P1}{4} ETA {5:hh\\:mm\\:ss}",
            p.Epoch, p.Epochs, p.Loss, p.Accuracy, validation, p.EstimatedRemaining);
    }
}
