using System.Text.RegularExpressions;

namespace MLNetNormalization.Tools.Mlnorm;

/// <summary>
/// An output folder written all at once: the run's outputs go into a temporary folder beside the target
/// (<c>&lt;name&gt;.&lt;random&gt;.tmp</c>) that <see cref="Commit"/> moves into place; disposing without committing deletes
/// it, so a failed or cancelled run leaves no half-written output. A command that can resume (the sweep) names its resume
/// state (the trial log and its folder): that state lives in the target itself from the start, and is never moved, so a
/// run killed at any moment (kill -9 included) leaves it where the same command finds it and resumes. A target holding
/// only resume state, and outputs of the command that a kill interrupted while they were moved into place, is taken up.
/// When the run neither commits nor is asked to keep it (<see cref="KeepResumeState"/>), resume state it created is
/// deleted; state the target held before is kept.
/// </summary>
internal sealed partial class OutputFolder : IDisposable
{
    private readonly IReadOnlyList<string> _resumeState;
    private bool _committed;
    private bool _keepResumeState;

    private OutputFolder(string target, string staging, IReadOnlyList<string> resumeState, bool resumed)
    {
        Target = target;
        Staging = staging;
        _resumeState = resumeState;
        Resumed = resumed;
        _keepResumeState = resumed;
    }

    /// <summary>The folder the run's files end up in.</summary>
    public string Target { get; }

    /// <summary>The temporary folder the run writes its outputs into until <see cref="Commit"/>.</summary>
    public string Staging { get; }

    /// <summary>Whether the target held the resume state of an earlier run.</summary>
    public bool Resumed { get; }

    /// <summary>A path inside the staging folder.</summary>
    public string PathOf(params string[] parts) => Path.Combine([Staging, .. parts]);

    /// <summary>Where resume state named <paramref name="name"/> lives: in the target.</summary>
    public string ResumePath(string name) => Path.Combine(Target, name);

    [GeneratedRegex(@"\.[0-9a-f]{32}\.tmp$")]
    private static partial Regex StagingSuffix();

    /// <summary>
    /// Checks that <paramref name="folder"/> can be written (it is absent or empty, or holds <paramref name="resumeState"/>
    /// and perhaps some of <paramref name="outputs"/>, which are deleted) and creates the staging folder, and the target
    /// when there is resume state to keep in it. Staging folders that a killed run left beside the target are deleted.
    /// </summary>
    public static OutputFolder Create(string folder, IReadOnlyList<string>? resumeState = null, IReadOnlyList<string>? outputs = null)
    {
        resumeState ??= [];
        outputs ??= [];
        var target = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar);
        if (File.Exists(target))
            throw new UsageException($"--output {target} is a file; pass a folder path (it is created).");
        var entries = Directory.Exists(target) ? Directory.GetFileSystemEntries(target) : [];
        var names = entries.Select(Path.GetFileName).ToList();
        var resumed = resumeState.Count > 0 && names.Any(resumeState.Contains) && names.All(n => resumeState.Contains(n!) || outputs.Contains(n!));
        if (entries.Length > 0 && !resumed)
            throw new UsageException($"--output {target} already exists and is not empty; pass a new folder, or delete it first.");
        var parent = Path.GetDirectoryName(target)
                     ?? throw new UsageException($"--output {target} is a root folder; pass a folder below it.");
        Directory.CreateDirectory(parent);
        var name = Path.GetFileName(target);
        foreach (var stale in Directory.GetDirectories(parent, name + ".*.tmp").Where(d => StagingSuffix().IsMatch(d) && Path.GetFileName(d)!.Length == name.Length + 37))
            Directory.Delete(stale, recursive: true);
        // Outputs that a killed run was moving into place: this run writes them again.
        foreach (var entry in entries.Where(e => outputs.Contains(Path.GetFileName(e)!))) Delete(entry);
        if (resumeState.Count > 0) Directory.CreateDirectory(target);
        var staging = Path.Combine(parent, $"{name}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(staging);
        return new OutputFolder(target, staging, resumeState, resumed);
    }

    /// <summary>Keeps the resume state in the target when the run does not commit (a cancelled sweep).</summary>
    public void KeepResumeState() => _keepResumeState = true;

    /// <summary>Moves the outputs into place: the staging folder itself, or its entries beside the resume state.</summary>
    public void Commit()
    {
        if (Directory.Exists(Target))
        {
            foreach (var entry in Directory.GetFileSystemEntries(Staging)) Move(entry, Path.Combine(Target, Path.GetFileName(entry)));
            Directory.Delete(Staging);
        }
        else
        {
            Directory.Move(Staging, Target);
        }
        _committed = true;
    }

    public void Dispose()
    {
        if (_committed) return;
        if (Directory.Exists(Staging)) Directory.Delete(Staging, recursive: true);
        if (_keepResumeState || !Directory.Exists(Target)) return;
        foreach (var name in _resumeState)
            if (Path.Exists(ResumePath(name)))
                Delete(ResumePath(name));
        if (Directory.GetFileSystemEntries(Target).Length == 0) Directory.Delete(Target);
    }

    private static void Move(string from, string to)
    {
        if (Directory.Exists(from)) Directory.Move(from, to);
        else File.Move(from, to);
    }

    private static void Delete(string entry)
    {
        if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true);
        else File.Delete(entry);
    }
}
