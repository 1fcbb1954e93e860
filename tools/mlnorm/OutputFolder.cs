namespace MLNetNormalization.Tools.Mlnorm;

/// <summary>
/// An output folder written all at once: files go into a temporary folder beside the target
/// (<c>&lt;name&gt;.&lt;random&gt;.tmp</c>), which <see cref="Commit"/> renames to the target; disposing without committing
/// deletes the temporary folder, so a failed or cancelled run leaves nothing half-written. A command that can resume
/// (the sweep) names its resume state (the trial log and its folder): a target holding only those is taken up (moved into
/// the temporary folder for the run to continue from), and, when the run does not commit, they are moved back into the
/// target if it held them or <see cref="KeepResumeState"/> was called, and deleted otherwise.
/// </summary>
internal sealed class OutputFolder : IDisposable
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

    /// <summary>The temporary folder the run writes into until <see cref="Commit"/>.</summary>
    public string Staging { get; }

    /// <summary>Whether the target held the resume state of an earlier run, now in <see cref="Staging"/>.</summary>
    public bool Resumed { get; }

    /// <summary>A path inside the staging folder.</summary>
    public string PathOf(params string[] parts) => Path.Combine([Staging, .. parts]);

    /// <summary>
    /// Checks that <paramref name="folder"/> can be written (it is absent, empty, or holds only entries named in
    /// <paramref name="resumeState"/>, which are moved into the staging folder) and creates the staging folder.
    /// </summary>
    public static OutputFolder Create(string folder, params IReadOnlyList<string> resumeState)
    {
        var target = Path.GetFullPath(folder);
        if (File.Exists(target))
            throw new UsageException($"--output {target} is a file; pass a folder path (it is created).");
        var entries = Directory.Exists(target) ? Directory.GetFileSystemEntries(target) : [];
        var resumed = entries.Length > 0 && resumeState.Count > 0 && entries.All(e => resumeState.Contains(Path.GetFileName(e)));
        if (entries.Length > 0 && !resumed)
            throw new UsageException($"--output {target} already exists and is not empty; pass a new folder, or delete it first.");
        var parent = Path.GetDirectoryName(target.TrimEnd(Path.DirectorySeparatorChar))
                     ?? throw new UsageException($"--output {target} is a root folder; pass a folder below it.");
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $"{Path.GetFileName(target.TrimEnd(Path.DirectorySeparatorChar))}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(staging);
        foreach (var entry in entries) Move(entry, Path.Combine(staging, Path.GetFileName(entry)));
        return new OutputFolder(target, staging, resumeState, resumed);
    }

    /// <summary>Keeps the resume state in the target when the run does not commit (a cancelled sweep).</summary>
    public void KeepResumeState() => _keepResumeState = true;

    /// <summary>Moves the staging folder into place.</summary>
    public void Commit()
    {
        if (Directory.Exists(Target)) Directory.Delete(Target);   // empty, as Create checked or emptied it
        Directory.Move(Staging, Target);
        _committed = true;
    }

    public void Dispose()
    {
        if (_committed || !Directory.Exists(Staging)) return;
        if (_keepResumeState)
        {
            Directory.CreateDirectory(Target);
            foreach (var name in _resumeState)
                if (Path.Exists(Path.Combine(Staging, name)))
                    Move(Path.Combine(Staging, name), Path.Combine(Target, name));
        }
        Directory.Delete(Staging, recursive: true);
    }

    private static void Move(string from, string to)
    {
        if (Directory.Exists(from)) Directory.Move(from, to);
        else File.Move(from, to);
    }
}
