using System.Text.Json;

namespace MLNetNormalization.Tool.Tests;

/// <summary>Run alone, after the parallel collections: the quick evidence run keeps both cores busy.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EvidenceCollection
{
    public const string Name = "mlnorm evidence";
}

/// <summary>`mlnorm evidence --quick` as a real process: every block's table, claims with verdicts, charts, and a results file that parses.</summary>
[Collection(EvidenceCollection.Name)]
public sealed class EvidenceCommandTests
{
    private static readonly string[] Verdicts = ["confirmed", "not reproduced", "inconclusive"];

    [Fact]
    public void QuickRunWritesEveryBlocksTableVerdictsChartsAndResults()
    {
        var output = Path.Combine(Path.GetTempPath(), $"mlnorm-evidence-{Guid.NewGuid():N}");
        try
        {
            var (code, stdout, stderr) = ToolFixture.RunProcess(ToolFixture.Dotnet,
                [Path.Combine(AppContext.BaseDirectory, "mlnorm.dll"), "evidence", "--quick", "--out", output],
                workingDirectory: Path.GetTempPath(), timeout: TimeSpan.FromMinutes(8));
            Assert.True(code == 0, $"exit code {code}: {stderr}\n{stdout}");
            Assert.Contains("wrote ", stdout);

            var markdown = File.ReadAllText(Path.Combine(output, "evidence.md"));
            Assert.Contains("**Quick run**", markdown);
            string[] titles = ["## 1. Mode normalization", "## 2. Four things", "## 3. Heterologous normalization"];
            var sections = titles.Select(t => markdown.IndexOf(t, StringComparison.Ordinal)).ToList();
            Assert.All(sections, index => Assert.True(index >= 0, "a block is missing from evidence.md"));
            var computeAt = markdown.IndexOf("## Compute", StringComparison.Ordinal);
            for (var b = 0; b < titles.Length; b++)
            {
                var section = markdown[sections[b]..(b + 1 < titles.Length ? sections[b + 1] : computeAt)];
                Assert.Contains("**Verdict: ", section);
                Assert.Contains("| paper section | claim (the paper's numbers) | compared here | measured (%) | verdict |", section);
                var claimRows = section.Split('\n').Where(l => l.StartsWith("| ", StringComparison.Ordinal) && l.EndsWith("** |", StringComparison.Ordinal)).ToList();
                Assert.NotEmpty(claimRows);
                Assert.All(claimRows, row => Assert.Contains(Verdicts, v => row.EndsWith($"**{v}** |", StringComparison.Ordinal)));
                Assert.Contains(" ± ", section);
                Assert.Contains("Compute: ", section);
            }
            Assert.Contains("mn:k=2 at batch 128:", markdown);

            var charts = markdown.Split('\n').Where(l => l.StartsWith("![", StringComparison.Ordinal)).Select(l => l[(l.IndexOf("](", StringComparison.Ordinal) + 2)..^1]).ToList();
            Assert.Contains("evidence-mn-error-vs-batch.svg", charts);
            Assert.Contains("evidence-hn-error-vs-batch.svg", charts);
            Assert.Contains("evidence-gates-mn-k2.svg", charts);
            Assert.All(charts, chart => Assert.Contains("<svg", File.ReadAllText(Path.Combine(output, chart))));

            using var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "evidence-results.json")));
            var root = results.RootElement;
            Assert.Equal("quick", root.GetProperty("Mode").GetString());
            var blocks = root.GetProperty("Blocks").EnumerateArray().ToList();
            Assert.Equal(["mode-normalization", "four-things", "heterologous"], blocks.Select(b => b.GetProperty("Id").GetString()));
            foreach (var block in blocks)
            {
                Assert.NotEmpty(block.GetProperty("Table").GetProperty("Rows").EnumerateArray());
                Assert.All(block.GetProperty("Cells").EnumerateArray(), cell => Assert.Equal(3, cell.GetProperty("TestErrors").GetArrayLength()));
                var claims = block.GetProperty("Claims").EnumerateArray().ToList();
                Assert.NotEmpty(claims);
                Assert.All(claims, claim => Assert.Contains(claim.GetProperty("Verdict").GetString(), Verdicts));
            }
            Assert.Equal(2, blocks[0].GetProperty("Gates").EnumerateArray().Count(g => g.GetProperty("Seed").GetInt32() == 1));
            Assert.Equal(2, blocks[1].GetProperty("AlphaTunings").GetArrayLength());
            // 10 + 6 + 12 cells of 3 seeds, less block 3's BN at 2 and 128 and GN at 2, which are block 2's runs.
            Assert.Equal(75, root.GetProperty("Runs").GetArrayLength());
            Assert.Empty(Directory.GetDirectories(output));
        }
        finally
        {
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public void FewerThanThreeSeedsAreRefused()
    {
        var output = Path.Combine(Path.GetTempPath(), $"mlnorm-evidence-{Guid.NewGuid():N}");
        var (code, _, stderr) = ToolFixture.RunCli("evidence", "--quick", "--seeds", "2", "--out", output);
        Assert.Equal(2, code);
        Assert.StartsWith("mlnorm: error: --seeds 2 is too few", stderr);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void AMissingMnistPackageNamesTheSetupScript()
    {
        var output = Path.Combine(Path.GetTempPath(), $"mlnorm-evidence-{Guid.NewGuid():N}");
        var missing = Path.Combine(Path.GetTempPath(), $"no-mnist-{Guid.NewGuid():N}");
        var (code, _, stderr) = ToolFixture.RunCli("evidence", "--quick", "--mnist", missing, "--out", output);
        Assert.Equal(2, code);
        Assert.Contains(missing, stderr);
        Assert.Contains("Run scripts/setup.sh", stderr);
        Assert.False(Directory.Exists(output));
    }
}
