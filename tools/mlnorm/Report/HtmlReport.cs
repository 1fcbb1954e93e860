using System.Globalization;
using System.Net;
using System.Text;

namespace MLNetNormalization.Tools.Mlnorm.Report;

/// <summary>report.html: one self-contained file (inline CSS and SVG charts, no scripts, nothing fetched).</summary>
internal static class HtmlReport
{
    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string P(double value) => value.ToString("P2", CultureInfo.InvariantCulture);

    public static string Render(ReportData data)
    {
        var html = new StringBuilder();
        html.Append($$"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>mlnorm {{E(data.Command)}} report</title>
            <style>
            body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 24px; color: #222; max-width: 1500px; }
            h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; }
            table { border-collapse: collapse; margin: 8px 0; } td, th { border: 1px solid #ccc; padding: 3px 10px; text-align: left; }
            th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
            .charts { display: flex; flex-wrap: wrap; gap: 16px; }
            figure.chart { margin: 0; border: 1px solid #ddd; padding: 6px; }
            figure.chart figcaption { font-size: 13px; color: #555; }
            figure.chart svg image { image-rendering: pixelated; }
            </style>
            </head>
            <body>
            <h1>mlnorm {{E(data.Command)}}</h1>

            """);
        html.Append("<table class=\"facts\">\n");
        foreach (var fact in data.Facts)
            html.Append($"<tr><th>{E(fact.Name)}</th><td>{E(fact.Value)}</td></tr>\n");
        html.Append("</table>\n");

        if (data.Leaderboard.Count > 0)
        {
            html.Append("<h2>Leaderboard</h2>\n<table class=\"leaderboard\">\n<tr><th>rank</th><th>trial</th><th>normalizer</th><th>accuracy</th><th>log loss</th><th>epochs</th><th>seconds</th></tr>\n");
            foreach (var row in data.Leaderboard)
                html.Append(CultureInfo.InvariantCulture,
                    $"<tr><td class=\"num\">{row.Rank}</td><td>{E(row.Name)}</td><td>{E(row.Normalizer)}</td><td class=\"num\">{P(row.Accuracy)}</td><td class=\"num\">{row.LogLoss:F4}</td><td class=\"num\">{row.Epochs}</td><td class=\"num\">{row.Seconds:F1}</td></tr>\n");
            html.Append("</table>\n<div class=\"charts\">\n");
            Figure(html, "trials-time", "Each trial's validation accuracy after each epoch, against time since the sweep started.", Charts.TrialsOverTime(data.Leaderboard));
            html.Append("</div>\n");
        }

        if (data.Epochs.Count > 0)
        {
            html.Append("<h2>Training</h2>\n<div class=\"charts\">\n");
            Figure(html, "loss", "Training loss (running mean over each epoch) and validation log loss after each epoch.", Charts.EpochCurves(data.Epochs, accuracy: false));
            Figure(html, "accuracy", "Training accuracy (running mean over each epoch) and validation accuracy after each epoch.", Charts.EpochCurves(data.Epochs, accuracy: true));
            html.Append("</div>\n");
        }

        if (data.ClassNames.Count > 0)
        {
            html.Append("<h2>Evaluation</h2>\n<div class=\"charts\">\n");
            Figure(html, "confusion", "Confusion matrix (ML.NET's Evaluate): rows are true classes, columns predicted classes.",
                Charts.ConfusionHeatmap(data.ClassNames, data.ConfusionMatrix));
            if (data.AlphaCurve.Count > 0)
                Figure(html, "alpha", "Accuracy of the evaluation images at each inference alpha, without retraining.", Charts.AlphaCurve(data.AlphaCurve));
            html.Append("</div>\n<h2>Per-class precision and recall</h2>\n<table class=\"per-class\">\n<tr><th>class</th><th>precision</th><th>recall</th><th>images</th></tr>\n");
            for (var c = 0; c < data.ClassNames.Count; c++)
            {
                var images = c < data.ConfusionMatrix.Count ? data.ConfusionMatrix[c].Sum() : 0;
                html.Append(CultureInfo.InvariantCulture,
                    $"<tr><td>{E(data.ClassNames[c])}</td><td class=\"num\">{P(data.PerClassPrecision[c])}</td><td class=\"num\">{P(data.PerClassRecall[c])}</td><td class=\"num\">{images:F0}</td></tr>\n");
            }
            html.Append("</table>\n");
        }
        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    private static void Figure(StringBuilder html, string id, string caption, string svg) =>
        html.Append($"<figure class=\"chart\" id=\"chart-{id}\" data-chart=\"{id}\">\n{svg}\n<figcaption>{E(caption)}</figcaption>\n</figure>\n");
}
