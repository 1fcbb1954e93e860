using ScottPlot;
using ScottPlot.TickGenerators;

namespace MLNetNormalization.Tools.Mlnorm.Report;

/// <summary>Draws the charts of `mlnorm evidence` with ScottPlot 5, one SVG file per chart.</summary>
internal static class EvidenceChartRenderer
{
    private const int Width = 720, Height = 420;

    /// <summary>Writes every chart of <paramref name="charts"/> into <paramref name="folder"/> under its file name.</summary>
    public static void WriteAll(EvidenceChartSet charts, string folder)
    {
        foreach (var chart in charts.Charts)
        {
            if (chart.FileName.Length == 0 || Path.GetFileName(chart.FileName) != chart.FileName || !chart.FileName.EndsWith(".svg", StringComparison.Ordinal))
                throw new InvalidDataException($"Chart '{chart.Title}' has file name '{chart.FileName}'; it must be a plain file name ending in .svg.");
            var plot = chart.Kind switch
            {
                EvidenceChartKind.Lines => Lines(chart),
                EvidenceChartKind.StackedBars => StackedBars(chart),
                _ => throw new InvalidDataException($"Chart '{chart.Title}' has kind {chart.Kind}, which this renderer does not draw."),
            };
            plot.Title(chart.Title);
            plot.XLabel(chart.XLabel);
            plot.YLabel(chart.YLabel);
            File.WriteAllText(Path.Combine(folder, chart.FileName), plot.GetSvgXml(Width, Height));
        }
    }

    private static Plot Lines(EvidenceChart chart)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        // Series side by side around each x (by 1.2 % of the x range each), so that error bars at the same x do not hide each other.
        var allX = chart.Series.SelectMany(series => series.X).DefaultIfEmpty(0).ToList();
        var spread = 0.012 * Math.Max(allX.Max() - allX.Min(), 1e-9);
        for (var s = 0; s < chart.Series.Count; s++)
        {
            var series = chart.Series[s];
            var shift = (s - (chart.Series.Count - 1) / 2.0) * spread;
            double[] xs = [.. series.X.Select(x => x + shift)];
            var color = palette.GetColor(s);
            var line = plot.Add.Scatter(xs, series.Y.ToArray());
            line.LegendText = series.Name;
            line.Color = color;
            line.MarkerSize = 8;
            var bars = plot.Add.ErrorBar(xs, series.Y.ToArray(), series.Error.ToArray());
            bars.Color = color;
        }
        if (chart.TickPositions.Count > 0)
            plot.Axes.Bottom.TickGenerator = new NumericManual([.. chart.TickPositions], [.. chart.TickLabels]);
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    private static Plot StackedBars(EvidenceChart chart)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (var c = 0; c < chart.Categories.Count; c++)
        {
            var bottom = 0.0;
            for (var s = 0; s < chart.Series.Count; s++)
            {
                var value = chart.Series[s].Y[c];
                plot.Add.Bar(new Bar { Position = c, ValueBase = bottom, Value = bottom + value, FillColor = palette.GetColor(s) });
                bottom += value;
            }
        }
        for (var s = 0; s < chart.Series.Count; s++)
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = chart.Series[s].Name, FillColor = palette.GetColor(s) });
        double[] positions = [.. Enumerable.Range(0, chart.Categories.Count).Select(c => (double)c)];
        plot.Axes.Bottom.TickGenerator = new NumericManual(positions, [.. chart.Categories]);
        plot.Axes.Bottom.MinimumSize = 60;
        // Room above the bars (which reach 1) for the legend.
        plot.Axes.SetLimitsY(0, 1.3);
        plot.ShowLegend(Alignment.UpperCenter, Orientation.Horizontal);
        return plot;
    }
}
