using MLNetNormalization.Sweeps;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace MLNetNormalization.Tools.Mlnorm.Report;

/// <summary>The report's charts, drawn with ScottPlot 5 and returned as SVG markup (without the XML declaration).</summary>
internal static class Charts
{
    private const int Width = 640, Height = 380;

    private static string Svg(Plot plot, int width = Width, int height = Height)
    {
        var svg = plot.GetSvgXml(width, height);
        var start = svg.IndexOf("<svg", StringComparison.Ordinal);
        return start > 0 ? svg[start..] : svg;
    }

    /// <summary>Training and validation values per epoch: loss or accuracy.</summary>
    public static string EpochCurves(IReadOnlyList<EpochPoint> epochs, bool accuracy)
    {
        var plot = new Plot();
        double[] xs = [.. epochs.Select(e => (double)e.Epoch)];
        var train = plot.Add.Scatter(xs, epochs.Select(e => accuracy ? e.TrainAccuracy : e.TrainLoss).ToArray());
        train.LegendText = "train";
        train.MarkerSize = 8;
        var validated = epochs.Where(e => (accuracy ? e.ValidationAccuracy : e.ValidationLoss) is not null).ToList();
        if (validated.Count > 0)
        {
            var validation = plot.Add.Scatter(validated.Select(e => (double)e.Epoch).ToArray(),
                validated.Select(e => (accuracy ? e.ValidationAccuracy : e.ValidationLoss)!.Value).ToArray());
            validation.LegendText = "validation";
            validation.MarkerSize = 8;
        }
        plot.Title(accuracy ? "Accuracy per epoch" : "Loss per epoch");
        plot.XLabel("epoch");
        plot.YLabel(accuracy ? "accuracy" : "log loss");
        plot.Axes.Bottom.TickGenerator = new NumericManual([.. xs], [.. xs.Select(x => x.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        if (xs.Length == 1) plot.Axes.SetLimitsX(xs[0] - 1, xs[0] + 1);
        plot.ShowLegend(Alignment.UpperRight);
        return Svg(plot);
    }

    /// <summary>The confusion matrix as a heat map: rows are true classes (top to bottom), columns predicted classes.</summary>
    public static string ConfusionHeatmap(IReadOnlyList<string> classes, IReadOnlyList<IReadOnlyList<double>> counts)
    {
        var n = classes.Count;
        var values = new double[n, n];
        for (var r = 0; r < n; r++)
            for (var c = 0; c < n; c++)
                values[r, c] = counts[r][c];
        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(values);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        // One SVG rectangle per cell: the default strategy draws an n x n bitmap that browsers scale up with smoothing,
        // which blurs the cells into each other.
        heatmap.RenderStrategy = new ScottPlot.Plottables.Heatmap.RenderStrategies.Rectangles();
        // Cell (r, c) centred on (c, n - 1 - r): row 0 at the top.
        heatmap.Rectangle = new CoordinateRect(-0.5, n - 0.5, -0.5, n - 0.5);
        plot.Add.ColorBar(heatmap);
        double[] positions = [.. Enumerable.Range(0, n).Select(i => (double)i)];
        plot.Axes.Bottom.TickGenerator = new NumericManual(positions, [.. classes]);
        plot.Axes.Left.TickGenerator = new NumericManual([.. positions.Select(p => n - 1 - p)], [.. classes]);
        plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Axes.Bottom.MinimumSize = 110;
        var max = counts.SelectMany(row => row).DefaultIfEmpty(0).Max();
        for (var r = 0; r < n; r++)
            for (var c = 0; c < n; c++)
            {
                var label = plot.Add.Text(counts[r][c].ToString("0", System.Globalization.CultureInfo.InvariantCulture), c, n - 1 - r);
                label.LabelAlignment = Alignment.MiddleCenter;
                label.LabelFontSize = n > 12 ? 9 : 12;
                label.LabelFontColor = counts[r][c] > max * 0.6 ? Colors.Black : Colors.White;
            }
        plot.Axes.SetLimits(-0.5, n - 0.5, -0.5, n - 0.5);
        plot.Title("Confusion matrix");
        plot.XLabel("predicted class");
        plot.YLabel("true class");
        return Svg(plot, 720, 640);
    }

    /// <summary>Accuracy of the evaluation images at each inference alpha.</summary>
    public static string AlphaCurve(IReadOnlyList<AlphaPoint> points)
    {
        var plot = new Plot();
        var line = plot.Add.Scatter(points.Select(p => p.Alpha).ToArray(), points.Select(p => p.MicroAccuracy).ToArray());
        line.MarkerSize = 8;
        plot.Title("Accuracy against inference alpha");
        plot.XLabel("inference alpha (0: running statistics, 1: each image's own)");
        plot.YLabel("accuracy");
        plot.Axes.SetLimitsX(-0.05, 1.05);
        return Svg(plot);
    }

    /// <summary>Each sweep trial's validation accuracy against the sweep's clock.</summary>
    public static string TrialsOverTime(IReadOnlyList<TrialRow> trials)
    {
        var plot = new Plot();
        foreach (var trial in trials.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            if (trial.Curve.Count == 0) continue;
            var line = plot.Add.Scatter(trial.Curve.Select(p => p.Seconds).ToArray(), trial.Curve.Select(p => p.Accuracy).ToArray());
            line.LegendText = trial.Name;
            line.MarkerSize = 7;
        }
        plot.Title("Validation accuracy against time, per trial");
        plot.XLabel("seconds since the sweep started");
        plot.YLabel("validation accuracy");
        plot.ShowLegend(Alignment.LowerRight);
        return Svg(plot, 720, 420);
    }
}
