using MLNetNormalization.Data;
using MLNetNormalization.Model;

namespace MLNetNormalization;

/// <summary>
/// Saving and loading fitted models (<c>MLNormContext.Model</c>): one zip holding the transformers' state, the
/// input schema and a manifest with the format version and a checksum of every entry (docs/model-file-format.md).
/// </summary>
public sealed partial class ModelOperationsCatalog
{
    /// <summary>
    /// Saves <paramref name="model"/> and the schema of the data it was fitted on to <paramref name="filePath"/>.
    /// The file is written beside the target under a temporary name and renamed over it, so a failed or interrupted
    /// save leaves any previous file as it was.
    /// </summary>
    /// <param name="inputSchema">The schema of the data the model expects, returned again by <see cref="Load(string, out DataViewSchema?)"/>; null stores none.</param>
    /// <exception cref="NotSupportedException">A transformer of the model (named) cannot be saved.</exception>
    public void Save(ITransformer model, DataViewSchema? inputSchema, string filePath)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(filePath);
        var fullPath = Path.GetFullPath(filePath);
        var folder = Path.GetDirectoryName(fullPath)!;
        // Checked here, since otherwise the error would name the temporary file rather than the one asked for.
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Cannot save the model to {filePath}: the folder {folder} does not exist; create it first.");
        // A unique name, so that two saves to the same path cannot write into each other's temporary file.
        var temporary = Path.Combine(folder, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                ModelArchive.Write(model, inputSchema, stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>Writes the model file of <paramref name="model"/> to <paramref name="stream"/>, which stays open.</summary>
    public void Save(ITransformer model, DataViewSchema? inputSchema, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stream);
        ModelArchive.Write(model, inputSchema, stream);
    }

    /// <summary>
    /// Loads a model saved by <see cref="Save(ITransformer, DataViewSchema?, string)"/>. Every entry is checked against
    /// the manifest's checksums before anything is read, so a truncated or altered file is an
    /// <see cref="InvalidDataException"/> naming the file (and the entry), never a wrong model.
    /// </summary>
    /// <param name="inputSchema">The schema saved with the model, or null when it was saved without one.</param>
    public ITransformer Load(string filePath, out DataViewSchema? inputSchema)
    {
        ArgumentException.ThrowIfNullOrEmpty(filePath);
        if (!File.Exists(filePath)) throw new FileNotFoundException($"The model file {filePath} does not exist.", filePath);
        using var stream = File.OpenRead(filePath);
        return ModelArchive.Read(stream, filePath, out inputSchema);
    }

    /// <summary>Loads a model file from <paramref name="stream"/> (left open); errors call it "the model stream".</summary>
    public ITransformer Load(Stream stream, out DataViewSchema? inputSchema)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return ModelArchive.Read(stream, "The model stream", out inputSchema);
    }
}
