using System.Text.Json;
using System.Text.Json.Serialization;
using MLNetNormalization.Sweeps;

namespace MLNetNormalization.Tools.Mlnorm.Report;

/// <summary>Everything report.html shows about one run (train, evaluate or sweep).</summary>
public sealed class ReportData
{
    /// <summary>The command that made the run: "train", "evaluate" or "sweep".</summary>
    public string Command { get; set; } = "";

    /// <summary>Header lines: (name, value) pairs such as ("architecture", "LeNet").</summary>
    public List<ReportFact> Facts { get; set; } = [];

    /// <summary>Per-epoch training and validation numbers; empty for evaluate.</summary>
    public List<EpochPoint> Epochs { get; set; } = [];

    /// <summary>Class names, in the order of the confusion matrix's rows and columns.</summary>
    public List<string> ClassNames { get; set; } = [];

    /// <summary>Confusion matrix counts: row = true class, column = predicted class.</summary>
    public List<List<double>> ConfusionMatrix { get; set; } = [];

    /// <summary>Precision of each class, in <see cref="ClassNames"/> order.</summary>
    public List<double> PerClassPrecision { get; set; } = [];

    /// <summary>Recall of each class, in <see cref="ClassNames"/> order.</summary>
    public List<double> PerClassRecall { get; set; } = [];

    /// <summary>Evaluation accuracy for each inference alpha tried.</summary>
    public List<AlphaPoint> AlphaCurve { get; set; } = [];

    /// <summary>For sweeps: one row per trial, best first.</summary>
    public List<TrialRow> Leaderboard { get; set; } = [];

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>Writes the data as JSON (report-data.json, beside report.html, for whoever wants the numbers).</summary>
    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json));
}

/// <summary>A name and its value, shown in the report's header table.</summary>
public sealed record ReportFact(string Name, string Value);

/// <summary>One epoch: the running training loss and accuracy at its end, and the validation metrics after it.</summary>
public sealed record EpochPoint(int Epoch, double TrainLoss, double TrainAccuracy, double? ValidationLoss, double? ValidationAccuracy);

/// <summary>One sweep trial: its configuration, result, and accuracy after each epoch against the sweep's clock.</summary>
public sealed record TrialRow(int Rank, string Name, string Normalizer, double Accuracy, double LogLoss, int Epochs, double Seconds, List<TimePoint> Curve);

/// <summary>A trial's validation accuracy at a moment of the sweep (seconds since it started).</summary>
public sealed record TimePoint(double Seconds, double Accuracy);
