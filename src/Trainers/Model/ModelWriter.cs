using System.Text.Json;
using MLNetNormalization.Data;
using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.Serialization;

namespace MLNetNormalization.Model;

/// <summary>
/// What a transformer's <see cref="ISavableTransformer.Save"/> writes through: named entries in the transformer's
/// own folder of the model file. Entry names are single path segments (letters, digits, '.', '-', '_').
/// </summary>
internal sealed class ModelWriter
{
    private readonly ModelArchive.Builder _archive;
    private readonly string _folder;

    internal ModelWriter(ModelArchive.Builder archive, string folder)
    {
        _archive = archive;
        _folder = folder;
    }

    /// <summary>Writes <paramref name="value"/> as JSON (see <see cref="ModelJson.Options"/>); read it back with <see cref="ModelReader.ReadJson{T}"/>.</summary>
    public void WriteJson<T>(string name, T value) => WriteBytes(name, JsonSerializer.SerializeToUtf8Bytes(value, ModelJson.Options));

    /// <summary>Writes named tensors in the tensor file format (docs/tensor-file-format.md), bit for bit.</summary>
    public void WriteTensors(string name, IEnumerable<(string Name, Tensor Value)> tensors)
    {
        using var stream = new MemoryStream();
        TensorFile.Save(stream, tensors);
        WriteBytes(name, stream.ToArray());
    }

    public void WriteBytes(string name, ReadOnlySpan<byte> bytes) => _archive.Add(_folder + ModelArchive.CheckEntryName(name), bytes.ToArray());

    /// <summary>Writes <paramref name="transformer"/> into the subfolder <paramref name="name"/>, for transformers that hold others.</summary>
    public void WriteTransformer(string name, ITransformer transformer) =>
        _archive.AddTransformer(_folder + ModelArchive.CheckEntryName(name) + "/", transformer);
}
