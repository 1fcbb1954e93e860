using MLNetNormalization.Tools;
using MLNetNormalization.Tools.Report;

// Usage: mlnorm-report <report-data.json> <report.html>
//        mlnorm-report --charts <evidence-charts.json> <folder>     (the SVG charts of mlnorm evidence)
if (args.Length != 2 && !(args.Length == 3 && args[0] == "--charts"))
{
    Console.Error.WriteLine("usage: mlnorm-report <report-data.json> <report.html> | mlnorm-report --charts <evidence-charts.json> <folder>");
    return 2;
}
try
{
    if (args.Length == 3)
    {
        EvidenceChartRenderer.WriteAll(EvidenceChartSet.Load(args[1]), args[2]);
        return 0;
    }
    var data = ReportData.Load(args[0]);
    File.WriteAllText(args[1], HtmlReport.Render(data));
    return 0;
}
catch (Exception e) when (e is IOException or InvalidDataException or System.Text.Json.JsonException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"mlnorm-report: {e.Message}");
    return 1;
}
