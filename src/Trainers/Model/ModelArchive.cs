using System.IO.Compression;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using MLNetNormalization.Data;

namespace MLNetNormalization.Model;

/// <summary>
/// The model file: a zip whose manifest gives the format, its version and the SHA-256 and length of every other
/// entry (docs/model-file-format.md). Zip's own CRC only catches some damage, and none done by a tool that rewrites
/// an entry; the manifest's checksums catch any change, and are all verified before anything is parsed.
/// </summary>
internal static partial class ModelArchive
{
    public const string FormatName = "MLNetNormalization.Model";
    public const int FormatVersion = 1;
    public const string ManifestEntry = "manifest.json";
    public const string SchemaEntry = "schema.json";
    public const string RootFolder = "model/";
    public const string KindEntry = "kind.txt";

    /// <summary>Entries get this fixed time so that saving the same model twice gives the same bytes.</summary>
    private static readonly DateTimeOffset EntryTime = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static string LibraryVersion =>
        typeof(ModelArchive).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    private sealed record ManifestEntryJson(string Name, long Length, string Sha256);

    private sealed record ManifestJson(string Format, int FormatVersion, string LibraryVersion, ManifestEntryJson[] Entries);

    /// <summary>Just the format fields, read first so that a future version's other fields cannot make parsing fail before the version is reported.</summary>
    private sealed record ManifestHeaderJson(string Format, int FormatVersion, string? LibraryVersion);

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex EntryNamePattern();

    /// <summary>Entry and subfolder names are single path segments, so no transformer can write outside its folder.</summary>
    public static string CheckEntryName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!EntryNamePattern().IsMatch(name) || name is "." or "..")
            throw new ArgumentException($"'{name}' cannot name a model file entry: use letters, digits, '.', '-' and '_' only (no folders).", nameof(name));
        return name;
    }

    /// <summary>
    /// Writes the model file to <paramref name="stream"/>. Every entry is made in memory first, so a transformer that
    /// cannot be saved fails before a byte is written.
    /// </summary>
    public static void Write(ITransformer model, DataViewSchema? inputSchema, Stream stream)
    {
        var builder = new Builder();
        if (inputSchema is not null) builder.Add(SchemaEntry, JsonSerializer.SerializeToUtf8Bytes(SchemaJson.From(inputSchema), ModelJson.Options));
        builder.AddTransformer(RootFolder, model);

        var manifest = new ManifestJson(FormatName, FormatVersion, LibraryVersion,
            [.. builder.Entries.Select(e => new ManifestEntryJson(e.Name, e.Bytes.Length, Convert.ToHexStringLower(SHA256.HashData(e.Bytes))))]);
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        WriteEntry(zip, ManifestEntry, JsonSerializer.SerializeToUtf8Bytes(manifest, ModelJson.Options));
        foreach (var (name, bytes) in builder.Entries) WriteEntry(zip, name, bytes);
    }

    private static void WriteEntry(ZipArchive zip, string name, byte[] bytes)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
        entry.LastWriteTime = EntryTime;
        using var output = entry.Open();
        output.Write(bytes);
    }

    /// <summary>Reads and verifies a model file; <paramref name="source"/> names it in errors.</summary>
    public static ITransformer Read(Stream stream, string source, out DataViewSchema? inputSchema)
    {
        var contents = new Contents(source, ReadVerifiedEntries(stream, source));
        inputSchema = contents.Entries.TryGetValue(SchemaEntry, out var schema) ? SchemaJson.Read(schema, source) : null;
        return contents.ReadTransformer(RootFolder);
    }

    private static Dictionary<string, byte[]> ReadVerifiedEntries(Stream stream, string source)
    {
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{source} is not a model file or is truncated: it is not a complete zip archive ({e.Message}).", e);
        }
        using (zip)
        {
            var manifestEntry = zip.GetEntry(ManifestEntry)
                ?? throw new InvalidDataException($"{source} is not a model file: it is a zip archive without {ManifestEntry}.");
            var manifest = ReadManifest(ReadEntry(manifestEntry, source, manifestEntry.Length), source);
            var listed = new Dictionary<string, ManifestEntryJson>(StringComparer.Ordinal);
            foreach (var entry in manifest.Entries)
                if (entry.Name == ManifestEntry || !listed.TryAdd(entry.Name, entry))
                    throw new InvalidDataException($"{source} was altered: its manifest lists the entry {entry.Name} twice.");
            var extra = zip.Entries.FirstOrDefault(e => e.FullName != ManifestEntry && !listed.ContainsKey(e.FullName));
            if (extra is not null) throw new InvalidDataException($"{source} was altered: entry {extra.FullName} is not in its manifest.");

            var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var expected in manifest.Entries)
            {
                var entry = zip.GetEntry(expected.Name)
                    ?? throw new InvalidDataException($"{source} was altered: entry {expected.Name}, listed in its manifest, is missing.");
                var bytes = ReadEntry(entry, source, expected.Length);
                if (!Convert.ToHexStringLower(SHA256.HashData(bytes)).Equals(expected.Sha256, StringComparison.OrdinalIgnoreCase))
                    throw new InvalidDataException($"{source} was altered: entry {expected.Name} does not match its checksum.");
                entries.Add(expected.Name, bytes);
            }
            return entries;
        }
    }

    /// <summary>
    /// The bytes of <paramref name="entry"/>, which should be <paramref name="length"/> long; reads at most one byte
    /// more, so a damaged size cannot make us allocate more than the manifest promised.
    /// </summary>
    private static byte[] ReadEntry(ZipArchiveEntry entry, string source, long length)
    {
        if (length < 0 || length > Array.MaxLength || entry.Length != length)
            throw new InvalidDataException($"{source} was altered: entry {entry.FullName} is {entry.Length} bytes long, but its manifest says {length}.");
        try
        {
            using var input = entry.Open();
            var bytes = new byte[length];
            input.ReadExactly(bytes);
            if (input.ReadByte() != -1) throw new InvalidDataException("it holds more bytes than its size says");
            return bytes;
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            // Zip's own checks (deflate errors, CRC) fail inside the entry: the bytes on disk were changed.
            throw new InvalidDataException($"{source} was altered: entry {entry.FullName} cannot be read ({e.Message}).", e);
        }
    }

    private static ManifestJson ReadManifest(byte[] bytes, string source)
    {
        try
        {
            var header = JsonSerializer.Deserialize<ManifestHeaderJson>(bytes, ModelJson.Options)!;
            if (header.Format != FormatName)
                throw new InvalidDataException($"{source} is not a model file of this library: its manifest names the format '{header.Format}', not '{FormatName}'.");
            if (header.FormatVersion != FormatVersion)
                throw new InvalidDataException(
                    $"{source} has model format version {header.FormatVersion} (written by MLNetNormalization {header.LibraryVersion ?? "of unknown version"}); " +
                    $"this build ({LibraryVersion}) reads version {FormatVersion} only." +
                    (header.FormatVersion > FormatVersion ? " Load it with a newer build of the library." : ""));
            return JsonSerializer.Deserialize<ManifestJson>(bytes, ModelJson.Options)!;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source} is damaged: its {ManifestEntry} is not a model manifest ({e.Message}).", e);
        }
    }

    /// <summary>Saves a transformer into <paramref name="folder"/>: its kind name, then whatever it writes.</summary>
    private static void SaveTransformer(Builder builder, string folder, ITransformer transformer)
    {
        ArgumentNullException.ThrowIfNull(transformer);
        var savable = transformer as ISavableTransformer ?? throw new NotSupportedException(
            $"The transformer {Describe(transformer)} cannot be saved to a model file: it does not implement saving " +
            $"(model files can hold {ModelLoaderRegistry.KnownKinds}). Save a pipeline made of those transformers.");
        if (!ModelLoaderRegistry.IsKnown(savable.KindName))
            throw new NotSupportedException(
                $"The transformer {Describe(transformer)} saves as kind '{savable.KindName}', which has no loader registered, so the file could not be loaded; " +
                "register one with ModelLoaderRegistry.Register.");
        builder.Add(folder + KindEntry, Encoding.UTF8.GetBytes(savable.KindName));
        savable.Save(new ModelWriter(builder, folder));
    }

    /// <summary>"TransformerChain&lt;ITransformer&gt;" rather than "TransformerChain`1".</summary>
    private static string Describe(ITransformer transformer)
    {
        var type = transformer.GetType();
        return type.IsGenericType
            ? $"{type.Name[..type.Name.IndexOf('`')]}<{string.Join(", ", type.GetGenericArguments().Select(a => a.Name))}>"
            : type.Name;
    }

    /// <summary>The entries of a model file being written, in order; a name written twice is an error naming it.</summary>
    internal sealed class Builder
    {
        private readonly HashSet<string> _names = new(StringComparer.Ordinal);

        public List<(string Name, byte[] Bytes)> Entries { get; } = [];

        public void Add(string name, byte[] bytes)
        {
            if (!_names.Add(name)) throw new InvalidOperationException($"The model file entry {name} was written twice; each entry name must be used once per transformer.");
            Entries.Add((name, bytes));
        }

        public void AddTransformer(string folder, ITransformer transformer) => SaveTransformer(this, folder, transformer);
    }

    /// <summary>The verified entries of a model file being read.</summary>
    internal sealed class Contents(string source, Dictionary<string, byte[]> entries)
    {
        public string Source { get; } = source;

        public Dictionary<string, byte[]> Entries { get; } = entries;

        public ITransformer ReadTransformer(string folder)
        {
            if (!Entries.TryGetValue(folder + KindEntry, out var kindBytes))
                throw new InvalidDataException($"{Source} is damaged: it has no transformer in {folder} (no {folder}{KindEntry}).");
            var kind = Encoding.UTF8.GetString(kindBytes);
            return ModelLoaderRegistry.Find(kind, Source, folder)(new ModelReader(this, folder, kind));
        }
    }
}
