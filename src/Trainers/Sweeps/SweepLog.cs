using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace MLNetNormalization.Sweeps;

/// <summary>
/// A sweep's JSON-lines log: a header line {"kind":"sweep","version":1,"settings":{...}}, then one
/// {"kind":"trial",...} line per finished trial, each appended and flushed to disk as the trial finishes.
/// </summary>
internal sealed class SweepLog
{
    internal const int Version = 1;

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private SweepLog(string path) => Path = path;

    public string Path { get; }

    /// <summary>
    /// Opens the log at <paramref name="path"/>: a new one (header written) when there is none or it is empty, else the
    /// existing one after checking its settings equal <paramref name="settings"/>. Returns the trials it holds. A last line
    /// cut short (a kill while it was written) is removed.
    /// </summary>
    /// <exception cref="InvalidOperationException">The log was written with other settings, or is not a sweep log.</exception>
    public static (SweepLog Log, IReadOnlyList<SweepTrial> Trials, bool Created) Open(string path, JsonObject settings)
    {
        var full = System.IO.Path.GetFullPath(path);
        var log = new SweepLog(full);
        if (System.IO.Path.GetDirectoryName(full) is { } folder) Directory.CreateDirectory(folder);
        var bytes = File.Exists(full) ? File.ReadAllBytes(full) : [];
        var complete = Array.LastIndexOf(bytes, (byte)'\n') + 1;
        if (complete < bytes.Length)
        {
            // A line cut short by a kill: the trial it was for did not count as finished, and runs again.
            using var file = new FileStream(full, FileMode.Open, FileAccess.Write);
            file.SetLength(complete);
        }
        var lines = Encoding.UTF8.GetString(bytes, 0, complete).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0)
        {
            var header = new JsonObject { ["kind"] = "sweep", ["version"] = Version, ["settings"] = settings.DeepClone() };
            File.WriteAllText(full, header.ToJsonString() + "\n");
            return (log, [], true);
        }

        var first = Parse(full, lines[0], 1);
        if ((string?)first["kind"] != "sweep" || first["settings"] is not JsonObject saved)
            throw new InvalidOperationException($"{full} is not a normalizer sweep log (its first line is no {{\"kind\":\"sweep\"}} header); give NormalizerSweepSettings.LogPath a new file, or the log of this sweep.");
        var differences = settings.Select(p => p.Key).Union(saved.Select(p => p.Key))
            .Where(key => !JsonNode.DeepEquals(saved[key], settings[key]))
            .Select(key => $"{key} (log: {Show(saved[key])}, now: {Show(settings[key])})")
            .ToList();
        if (differences.Count > 0)
            throw new InvalidOperationException(
                $"The sweep log {full} was written by a sweep with other settings: {string.Join("; ", differences)}. " +
                "To resume it, run with the same settings and data (with an MLContext without a seed, set NormalizerSweepSettings.Seed); " +
                "to start a new sweep, give another LogPath or delete this log and its .trials folder.");
        var trials = new List<SweepTrial>();
        for (var i = 1; i < lines.Length; i++)
        {
            var node = Parse(full, lines[i], i + 1);
            if ((string?)node["kind"] != "trial")
                throw new InvalidOperationException($"{full}, line {i + 1}: not a trial line ({{\"kind\":\"trial\",...}}); the log is damaged. Delete it to start the sweep again.");
            node.Remove("kind");
            trials.Add(node.Deserialize<SweepTrial>(Json)
                ?? throw new InvalidOperationException($"{full}, line {i + 1}: an empty trial; the log is damaged. Delete it to start the sweep again."));
        }
        return (log, trials, false);
    }

    /// <summary>Appends one trial line and flushes it to disk.</summary>
    public void Append(SweepTrial trial)
    {
        var node = new JsonObject { ["kind"] = "trial" };
        foreach (var (key, value) in JsonSerializer.SerializeToNode(trial, Json)!.AsObject().ToList())
            node[key] = value?.DeepClone();
        using var file = new FileStream(Path, FileMode.Append, FileAccess.Write);
        file.Write(Encoding.UTF8.GetBytes(node.ToJsonString() + "\n"));
        file.Flush(flushToDisk: true);
    }

    private static JsonObject Parse(string path, string line, int number)
    {
        try
        {
            return JsonNode.Parse(line) as JsonObject
                ?? throw new InvalidOperationException($"{path}, line {number}: not a JSON object; the log is damaged. Delete it to start the sweep again.");
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"{path}, line {number} is not JSON ({e.Message}); the log is damaged. Delete it to start the sweep again.", e);
        }
    }

    private static string Show(JsonNode? node)
    {
        var text = node?.ToJsonString() ?? "none";
        return text.Length <= 200 ? text : text[..200] + "...";
    }
}
