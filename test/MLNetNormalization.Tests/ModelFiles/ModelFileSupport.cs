using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace MLNetNormalization.Tests.ModelFiles;

/// <summary>
/// Edits model files below the library's own code: raw zip bytes (read with the zip layout of the PKWARE
/// APPNOTE, not with the library) and entries rewritten through System.IO.Compression.
/// </summary>
internal static class ModelFileSupport
{
    /// <summary>Where the stored (compressed) bytes of entry <paramref name="name"/> lie in the zip.</summary>
    public static (int Start, int Length) EntryData(byte[] zip, string name)
    {
        var end = zip.Length - 22;
        while (BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(end)) != 0x06054b50) end--;
        var count = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(end + 10));
        var position = (int)BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(end + 16));
        for (var i = 0; i < count; i++)
        {
            var compressed = (int)BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(position + 20));
            var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(position + 28));
            var extraLength = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(position + 30));
            var commentLength = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(position + 32));
            var local = (int)BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(position + 42));
            var entryName = System.Text.Encoding.UTF8.GetString(zip, position + 46, nameLength);
            if (entryName == name)
            {
                var localName = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(local + 26));
                var localExtra = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(local + 28));
                return (local + 30 + localName + localExtra, compressed);
            }
            position += 46 + nameLength + extraLength + commentLength;
        }
        throw new ArgumentException($"The zip has no entry {name}.");
    }

    public static string[] EntryNames(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        return [.. zip.Entries.Select(e => e.FullName)];
    }

    public static byte[] ReadEntry(string path, string name)
    {
        using var zip = ZipFile.OpenRead(path);
        using var stream = zip.GetEntry(name)!.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>
    /// Replaces entry <paramref name="name"/> by <paramref name="bytes"/> (null deletes it) in a valid zip, so zip's
    /// own CRC holds; with <paramref name="fixManifest"/> the manifest's length and SHA-256 are updated too, making
    /// the change invisible to the checksums (to reach the checks that come after them).
    /// </summary>
    public static void RewriteEntry(string path, string name, byte[]? bytes, bool fixManifest)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
        zip.GetEntry(name)?.Delete();
        if (bytes is not null) Write(zip, name, bytes);
        if (!fixManifest) return;
        var manifestEntry = zip.GetEntry("manifest.json")!;
        JsonNode manifest;
        using (var stream = manifestEntry.Open()) manifest = JsonNode.Parse(stream)!;
        var entries = manifest["entries"]!.AsArray();
        var listed = entries.Single(e => (string)e!["name"]! == name)!;
        if (bytes is null) entries.Remove(listed);
        else
        {
            listed["length"] = bytes.Length;
            listed["sha256"] = Convert.ToHexStringLower(SHA256.HashData(bytes));
        }
        manifestEntry.Delete();
        Write(zip, "manifest.json", System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString()));
    }

    /// <summary>Edits the manifest's JSON (not its checksums: the manifest has none).</summary>
    public static void RewriteManifest(string path, Action<JsonNode> edit)
    {
        var manifest = JsonNode.Parse(ReadEntry(path, "manifest.json"))!;
        edit(manifest);
        RewriteEntry(path, "manifest.json", System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString()), fixManifest: false);
    }

    private static void Write(ZipArchive zip, string name, byte[] bytes)
    {
        using var stream = zip.CreateEntry(name).Open();
        stream.Write(bytes);
    }
}
