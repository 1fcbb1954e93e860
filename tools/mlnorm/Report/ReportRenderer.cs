namespace MLNetNormalization.Tools.Mlnorm.Report;

/// <summary>Writes a run's report: its numbers as report-data.json and the charts and tables as report.html.</summary>
internal static class ReportRenderer
{
    /// <summary>Writes <c>report-data.json</c> and <c>report.html</c> for <paramref name="data"/> into <paramref name="folder"/>.</summary>
    public static void Write(ReportData data, string folder)
    {
        data.Save(Path.Combine(folder, "report-data.json"));
        File.WriteAllText(Path.Combine(folder, "report.html"), HtmlReport.Render(data));
    }
}
