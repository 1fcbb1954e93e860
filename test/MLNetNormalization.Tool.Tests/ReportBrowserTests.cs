using PuppeteerSharp;

namespace MLNetNormalization.Tool.Tests;

/// <summary>report.html opened in Debian's Chromium, headless, through PuppeteerSharp (no browser download).</summary>
[Collection(ToolCollection.Name)]
public sealed class ReportBrowserTests(ToolFixture fixture)
{
    public const string Chromium = "/usr/bin/chromium";

    /// <summary>Opens a report, checks it, and returns the path of its screenshot (in the test's temporary folder).</summary>
    internal static async Task<string> CheckReport(string reportPath, string[] charts, string screenshotFolder)
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing; run scripts/setup.sh (it installs Debian's chromium).");
        await using var browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            // Root in a container: Chromium's sandbox needs user namespaces.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
        await using var page = await browser.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, e) =>
        {
            if (e.Message.Type == ConsoleType.Error) errors.Add(e.Message.Text);
        };
        page.PageError += (_, e) => errors.Add(e.Message);
        page.RequestFailed += (_, e) => errors.Add($"request failed: {e.Request.Url}");
        await page.SetViewportAsync(new ViewPortOptions { Width = 1500, Height = 1000 });
        var response = await page.GoToAsync(new Uri(reportPath).AbsoluteUri, WaitUntilNavigation.Load);
        Assert.True(response.Ok, $"loading {reportPath}: {response.Status}");
        Assert.Empty(errors);

        foreach (var chart in charts)
        {
            var figure = await page.QuerySelectorAsync($"figure[data-chart='{chart}'] svg");
            Assert.True(figure is not null, $"chart '{chart}' is missing");
            var box = await figure.BoundingBoxAsync();
            Assert.True(box is { Width: > 200, Height: > 200 }, $"chart '{chart}' is {box?.Width}x{box?.Height}");
            // Drawn: lines, markers or cells (paths, images) and text (axis labels, ticks).
            var marks = await page.EvaluateFunctionAsync<int>(
                "c => document.querySelectorAll(`figure[data-chart='${c}'] svg path, figure[data-chart='${c}'] svg image, figure[data-chart='${c}'] svg rect`).length", chart);
            var text = await page.EvaluateFunctionAsync<string>("c => document.querySelector(`figure[data-chart='${c}'] svg`).textContent", chart);
            Assert.True(marks > 5, $"chart '{chart}' has {marks} marks");
            Assert.False(string.IsNullOrWhiteSpace(text), $"chart '{chart}' has no text");
        }
        Directory.CreateDirectory(screenshotFolder);
        var screenshot = Path.Combine(screenshotFolder, "report.png");
        await page.ScreenshotAsync(screenshot, new ScreenshotOptions { FullPage = true });
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot is nearly empty");
        Assert.Empty(errors);
        return screenshot;
    }

    /// <summary>
    /// The heat map's cells are drawn as vector shapes, one per cell, not as an n x n bitmap that the browser scales up
    /// (and blurs): the chart holds at most one image (the color bar's gradient) and at least n * n filled shapes.
    /// </summary>
    private static async Task CheckConfusionCellsAreVector(string reportPath, int classes)
    {
        var svg = await File.ReadAllTextAsync(reportPath);
        var start = svg.IndexOf("data-chart=\"confusion\"", StringComparison.Ordinal);
        Assert.True(start >= 0, "no confusion chart");
        var end = svg.IndexOf("</figure>", start, StringComparison.Ordinal);
        var chart = svg[start..end];
        var images = CountTags(chart, "<image");
        Assert.True(images <= 1, $"the confusion chart holds {images} images: its cells are a bitmap");
        var shapes = CountTags(chart, "<rect") + CountTags(chart, "<path");
        Assert.True(shapes >= classes * classes, $"the confusion chart holds {shapes} rects and paths for {classes * classes} cells");
    }

    private static int CountTags(string text, string tag)
    {
        var count = 0;
        for (var i = text.IndexOf(tag, StringComparison.Ordinal); i >= 0; i = text.IndexOf(tag, i + tag.Length, StringComparison.Ordinal)) count++;
        return count;
    }

    [Fact]
    public async Task TrainReportLoadsWithEveryChartAndNoConsoleErrors()
    {
        var report = Path.Combine(fixture.TrainOutput, "report.html");
        var html = await File.ReadAllTextAsync(report);
        // Self-contained: no scripts, stylesheets or images fetched from anywhere.
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org", "", StringComparison.Ordinal));
        Assert.DoesNotContain("https://", html);
        Assert.DoesNotContain("<script", html);
        // The class names of the confusion matrix and the per-class table.
        foreach (var name in Directory.GetDirectories(fixture.Images).Select(Path.GetFileName))
            Assert.Contains(name!, html);

        var screenshot = await CheckReport(report, ["loss", "accuracy", "confusion", "alpha"], Path.Combine(fixture.Root, "screenshots-train"));
        await CheckConfusionCellsAreVector(report, Directory.GetDirectories(fixture.Images).Length);
        // Kept for a look after the run (artifacts/ is git-ignored); copied by hand to docs/report.png for the README.
        var keep = Path.Combine(ToolFixture.RepoRoot, "artifacts", "report-screenshots");
        Directory.CreateDirectory(keep);
        File.Copy(screenshot, Path.Combine(keep, "train-report.png"), overwrite: true);
    }
}
