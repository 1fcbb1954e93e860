namespace MLNetNormalization.Bench;

/// <summary>
/// Replaces one benchmark's section of a shared Markdown file (between its start and end markers),
/// leaving every other section as it is; creates the file when absent.
/// </summary>
public static class ResultsFile
{
    public static void WriteSection(string path, string startMarker, string endMarker, string body)
    {
        var section = $"{startMarker}\n{body.TrimEnd('\n')}\n{endMarker}";
        string content;
        if (!File.Exists(path))
        {
            content = $"# Benchmark results\n\nEach section is written by the benchmark it names; rerun that benchmark to refresh it.\n\n{section}\n";
        }
        else
        {
            var existing = File.ReadAllText(path).Replace("\r\n", "\n");
            var start = existing.IndexOf(startMarker, StringComparison.Ordinal);
            var end = start < 0 ? -1 : existing.IndexOf(endMarker, start, StringComparison.Ordinal);
            if (start >= 0 && end < 0)
                throw new InvalidDataException($"{path} has {startMarker} without {endMarker} after it; fix the file by hand.");
            if (start < 0 && existing.Contains(endMarker, StringComparison.Ordinal))
                throw new InvalidDataException($"{path} has {endMarker} without {startMarker} before it; fix the file by hand.");
            content = start >= 0
                ? existing[..start] + section + existing[(end + endMarker.Length)..]
                : existing.TrimEnd('\n') + "\n\n" + section + "\n";
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, content);
        File.Move(temporary, path, overwrite: true);
    }
}
