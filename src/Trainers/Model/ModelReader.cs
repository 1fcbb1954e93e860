using System.Text.Json;
using MLNetNormalization.Data;
using MLNetNormalization.TorchBinding;
using MLNetNormalization.TorchBinding.Serialization;

namespace MLNetNormalization.Model;

/// <summary>
/// What a registered loader reads through: the entries of one transformer's folder of a model file whose checksums
/// have all been verified. Errors name the file, the entry and the transformer kind.
/// </summary>
internal sealed class ModelReader
{
    private readonly ModelArchive.Contents _archive;
    private readonly string _folder;

    internal ModelReader(ModelArchive.Contents archive, string folder, string kind)
    {
        _archive = archive;
        _folder = folder;
        Kind = kind;
    }

    /// <summary>The kind name stored for this transformer.</summary>
    public string Kind { get; }

    public bool Contains(string name) => _archive.Entries.ContainsKey(_folder + ModelArchive.CheckEntryName(name));

    public byte[] ReadBytes(string name)
    {
        var path = _folder + ModelArchive.CheckEntryName(name);
        return _archive.Entries.TryGetValue(path, out var bytes)
            ? bytes
            : throw new InvalidDataException(
                $"{_archive.Source} is damaged: the {Kind} transformer in {_folder} has no entry {name} (a file written by a different build of its saving code?).");
    }

    /// <summary>Reads a JSON entry written by <see cref="ModelWriter.WriteJson{T}"/>; a missing member or malformed JSON is an error naming the entry.</summary>
    public T ReadJson<T>(string name)
    {
        var bytes = ReadBytes(name);
        try
        {
            return JsonSerializer.Deserialize<T>(bytes, ModelJson.Options) ?? throw Damaged(name, "null");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{DamagedEntry(name)} is not the JSON it expects ({e.Message}).", e);
        }
    }

    /// <summary>Reads a tensor entry written by <see cref="ModelWriter.WriteTensors"/>; the caller owns (disposes) the tensors.</summary>
    public Dictionary<string, Tensor> ReadTensors(string name)
    {
        using var stream = new MemoryStream(ReadBytes(name), writable: false);
        return TensorFile.Load(stream, $"{_archive.Source} (entry {_folder}{name})");
    }

    /// <summary>Reads the transformer written by <see cref="ModelWriter.WriteTransformer"/> into subfolder <paramref name="name"/>.</summary>
    public ITransformer ReadTransformer(string name) => _archive.ReadTransformer(_folder + ModelArchive.CheckEntryName(name) + "/");

    /// <summary>
    /// The member of <typeparamref name="TEnum"/> named <paramref name="text"/> in entry <paramref name="name"/> (savers
    /// write enum members by name, so a file stays readable if members are reordered); anything else is damage.
    /// </summary>
    public TEnum ParseEnum<TEnum>(string name, string text) where TEnum : struct, Enum =>
        Enum.GetNames<TEnum>().Contains(text, StringComparer.Ordinal)
            ? Enum.Parse<TEnum>(text)
            : throw Damaged(name, $"the unknown {typeof(TEnum).Name} '{text}' (this build knows {string.Join(", ", Enum.GetNames<TEnum>())})");

    /// <summary>An error for an entry that was read but holds what no saved transformer writes, e.g. a negative count.</summary>
    public InvalidDataException Damaged(string name, string what) => new($"{DamagedEntry(name)} holds {what}.");

    /// <summary>"model.zip is damaged: entry model/0/map.json of the ValueToKeyMapping transformer", to start an error with.</summary>
    public string DamagedEntry(string name) => $"{_archive.Source} is damaged: entry {_folder}{name} of the {Kind} transformer";
}
