using System.Globalization;

namespace MLNetNormalization.Tools.Mlnorm.Report;

/// <summary>Collects what report.html shows from a run's results.</summary>
internal static class ReportBuilder
{
    private static string Number(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>A trained model: its settings, per-epoch history, and evaluation on the held-out images.</summary>
    public static ReportData ForTraining(string command, Dataset data, TrainSettings settings, TrainedModel trained)
    {
        var report = new ReportData
        {
            Command = command,
            Epochs = trained.History,
            Facts =
            [
                new("dataset", data.Description),
                new("architecture", settings.Architecture.ToString()),
                new("normalizer", settings.Normalizer),
                new("epochs", settings.Epochs.ToString(CultureInfo.InvariantCulture)),
                new("batch size", settings.BatchSize.ToString(CultureInfo.InvariantCulture)),
                new("learning rate", Number(settings.LearningRate, "G")),
                new("held out", $"{Number(settings.ValidationFraction, "P0")} of the images"),
                new("training time", $"{Number(trained.Elapsed.TotalSeconds, "F1")} s"),
            ],
        };
        AddEvaluation(report, trained.Evaluation);
        return report;
    }

    /// <summary>A saved model evaluated on a dataset.</summary>
    public static ReportData ForEvaluation(Dataset data, string modelPath, ImageClassificationTransformer classifier, EvaluationResult evaluation)
    {
        var report = new ReportData
        {
            Command = "evaluate",
            Facts =
            [
                new("model", modelPath),
                new("dataset", data.Description),
                new("architecture", classifier.Backbone),
                new("normalizer", classifier.Normalizer),
            ],
        };
        AddEvaluation(report, evaluation);
        return report;
    }

    /// <summary>ML.NET's metrics: the summary, confusion matrix, per-class precision and recall, and the alpha curve.</summary>
    public static void AddEvaluation(ReportData report, EvaluationResult evaluation)
    {
        var metrics = evaluation.Metrics;
        var confusion = metrics.ConfusionMatrix;
        report.Facts.Add(new("accuracy", Number(metrics.MicroAccuracy, "P2")));
        report.Facts.Add(new("macro accuracy", Number(metrics.MacroAccuracy, "P2")));
        report.Facts.Add(new("log loss", Number(metrics.LogLoss, "F4")));
        report.Facts.Add(new("evaluated images", Number(confusion.Counts.Sum(row => row.Sum()), "F0")));
        report.ClassNames = [.. evaluation.Classes];
        report.ConfusionMatrix = confusion.Counts.Select(row => row.ToList()).ToList();
        report.PerClassPrecision = [.. confusion.PerClassPrecision];
        report.PerClassRecall = [.. confusion.PerClassRecall];
        report.AlphaCurve = [.. evaluation.Alphas];
    }
}
