namespace MLNetNormalization.Tools.Mlnorm;

/// <summary>
/// An output folder written all at once: files go into a temporary folder beside the target
/// (<c>&lt;name&gt;.&lt;random&gt;.tmp</c>), which <see cref="Commit"/> renames to the target; disposing without committing
/// deletes the temporary folder, so a failed or cancelled run leaves nothing half-written.
/// </summary>
internal sealed class OutputFolder : IDisposable
{
    private bool _committed;

    private OutputFolder(string target, string staging)
    {
        Target = target;
        Staging = staging;
    }

    /// <summary>The folder the run's files end up in.</summary>
    public string Target { get; }

    /// <summary>The temporary folder the run writes into until <see cref="Commit"/>.</summary>
    public string Staging { get; }

    /// <summary>A path inside the staging folder.</summary>
    public string PathOf(params string[] parts) => Path.Combine([Staging, .. parts]);

    /// <summary>Checks that <paramref name="folder"/> can be written (it is absent or an empty folder) and creates the staging folder.</summary>
    public static OutputFolder Create(string folder)
    {
        var target = Path.GetFullPath(folder);
        if (File.Exists(target))
            throw new UsageException($"--output {target} is a file; pass a folder path (it is created).");
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
            throw new UsageException($"--output {target} already exists and is not empty; pass a new folder, or delete it first.");
        var parent = Path.GetDirectoryName(target.TrimEnd(Path.DirectorySeparatorChar))
                     ?? throw new UsageException($"--output {target} is a root folder; pass a folder below it.");
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $"{Path.GetFileName(target.TrimEnd(Path.DirectorySeparatorChar))}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(staging);
        return new OutputFolder(target, staging);
    }

    /// <summary>Moves the staging folder into place.</summary>
    public void Commit()
    {
        if (Directory.Exists(Target)) Directory.Delete(Target);   // empty, as Create checked
        Directory.Move(Staging, Target);
        _committed = true;
    }

    public void Dispose()
    {
        if (!_committed && Directory.Exists(Staging)) Directory.Delete(Staging, recursive: true);
    }
}
