using MLNetNormalization.Tools;
using MLNetNormalization.Tools.Report;

// Usage: mlnorm-report <report-data.json> <report.html>
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: mlnorm-report <report-data.json> <report.html>");
    return 2;
}
try
{
    var data = ReportData.Load(args[0]);
    File.WriteAllText(args[1], HtmlReport.Render(data));
    return 0;
}
catch (Exception e) when (e is IOException or InvalidDataException or System.Text.Json.JsonException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"mlnorm-report: {e.Message}");
    return 1;
}
