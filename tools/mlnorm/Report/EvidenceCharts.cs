namespace MLNetNormalization.Tools.Mlnorm.Report;

/// <summary>The charts of one evidence run (what each shows), drawn by <see cref="EvidenceChartRenderer"/> as one SVG file per chart.</summary>
public sealed class EvidenceChartSet
{
    public List<EvidenceChart> Charts { get; set; } = [];
}

/// <summary>How a chart draws its series.</summary>
public enum EvidenceChartKind
{
    /// <summary>Each series a line through (X, Y) with error bars of ± Error.</summary>
    Lines,

    /// <summary>One bar per category, stacked from the series: series s contributes Y[c] to category c's bar.</summary>
    StackedBars,
}

/// <summary>One chart, drawn into <see cref="FileName"/> (a plain file name: no folder).</summary>
public sealed class EvidenceChart
{
    public string FileName { get; set; } = "";

    public string Title { get; set; } = "";

    public string XLabel { get; set; } = "";

    public string YLabel { get; set; } = "";

    public EvidenceChartKind Kind { get; set; }

    /// <summary>Lines: where the x-axis ticks go and their labels (a batch-size axis spaced by log2 shows 2, 4, 8, ...).</summary>
    public List<double> TickPositions { get; set; } = [];

    public List<string> TickLabels { get; set; } = [];

    /// <summary>Stacked bars: the bars' labels, left to right.</summary>
    public List<string> Categories { get; set; } = [];

    public List<EvidenceSeries> Series { get; set; } = [];
}

/// <summary>A named series: points (X, Y) with an error of ± Error[i] each (lines), or one value per category (stacked bars: X unused).</summary>
public sealed record EvidenceSeries(string Name, List<double> X, List<double> Y, List<double> Error);
