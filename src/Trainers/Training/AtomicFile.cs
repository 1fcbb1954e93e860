namespace MLNetNormalization.Training;

/// <summary>
/// Replaces a file only once its new content is complete: written to "&lt;path&gt;.tmp", flushed to the disk, renamed over
/// <c>path</c>. A kill or a crash at any moment leaves the previous file or the new one; a failure while writing deletes
/// the temporary file and leaves the previous one.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes what <paramref name="write"/> writes to the file's stream atomically to <paramref name="path"/>.</summary>
    public static void Write(string path, Action<FileStream> write)
    {
        var temporary = path + ".tmp";
        try
        {
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                write(file);
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}
