using System.Buffers.Binary;
using System.Text;

namespace MLNetNormalization.Build.TorchSharpCompat;

/// <summary>A version a shared library needs from one of its dependencies (one <c>Elf64_Vernaux</c> of
/// <c>.gnu.version_r</c>).</summary>
/// <param name="File">The dependency's soname, for example <c>libstdc++.so.6</c>.</param>
/// <param name="Version">The version name, for example <c>GLIBCXX_3.4.32</c>.</param>
/// <param name="Index">The index that <c>.gnu.version</c> gives the symbols bound to this version.</param>
/// <param name="Flags">The entry's <c>vna_flags</c>.</param>
/// <param name="FlagsOffset">Where <c>vna_flags</c> lies in the file.</param>
public sealed record VersionNeed(string File, string Version, ushort Index, ushort Flags, int FlagsOffset);

/// <summary>An entry of <c>.dynsym</c> with its version index from <c>.gnu.version</c>.</summary>
/// <param name="Index">The symbol's index in <c>.dynsym</c>, as relocations name it.</param>
/// <param name="Name">The symbol's name.</param>
/// <param name="IsDefined">False for a symbol the library imports (section index <c>SHN_UNDEF</c>).</param>
/// <param name="VersionIndex">The version index without the hidden bit; 0 and 1 mean unversioned.</param>
public sealed record DynamicSymbol(int Index, string Name, bool IsDefined, ushort VersionIndex);

/// <summary>
/// A read-only view of what the dynamic loader uses for symbol versioning in a 64-bit little-endian ELF file (x86-64,
/// arm64): version definitions, version needs, dynamic symbols and the symbols that relocations bind. It reads the
/// section headers, so it works on the libraries as shipped (not stripped of section headers).
/// </summary>
public sealed class ElfImage
{
    private const uint SectionTypeRela = 4;
    private const uint SectionTypeNoBits = 8; // .bss and the like: a size in memory, nothing in the file
    private const uint SectionTypeRel = 9;
    private const uint SectionTypeDynamicSymbols = 11;
    private const uint SectionTypeVersionDefinitions = 0x6ffffffd;
    private const uint SectionTypeVersionNeeds = 0x6ffffffe;
    private const uint SectionTypeSymbolVersions = 0x6fffffff;

    /// <summary>The base definition (the file's own name), which is not a version others can need.</summary>
    private const ushort VersionDefinitionFlagBase = 0x1;

    /// <summary>Bit 15 of a <c>.gnu.version</c> entry marks a hidden symbol; the rest is the version index.</summary>
    private const ushort VersionIndexMask = 0x7fff;

    private readonly byte[] _bytes;
    private readonly Section[] _sections;

    private readonly record struct Section(uint Type, int Offset, int Size, int Link, int EntrySize);

    private ElfImage(byte[] bytes, Section[] sections)
    {
        _bytes = bytes;
        _sections = sections;
    }

    /// <summary>Reads the file at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a 64-bit little-endian ELF file or is truncated.</exception>
    public static ElfImage Read(string path) => Parse(File.ReadAllBytes(path), path);

    /// <summary>Parses an ELF file held in memory; <paramref name="bytes"/> is kept, not copied.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a 64-bit little-endian ELF file or are truncated.</exception>
    public static ElfImage Parse(byte[] bytes, string description)
    {
        if (bytes.Length < 64 || bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F')
            throw new InvalidDataException($"{description} is not an ELF file.");
        if (bytes[4] != 2 || bytes[5] != 1)
            throw new InvalidDataException($"{description} is not a 64-bit little-endian ELF file.");

        var sectionHeaderOffset = checked((int)ReadUInt64(bytes, 0x28, description));
        var sectionHeaderSize = ReadUInt16(bytes, 0x3a, description);
        var sectionCount = ReadUInt16(bytes, 0x3c, description);
        var sections = new Section[sectionCount];
        for (var i = 0; i < sectionCount; i++)
        {
            var header = sectionHeaderOffset + i * sectionHeaderSize;
            sections[i] = new Section(
                Type: ReadUInt32(bytes, header + 4, description),
                Offset: checked((int)ReadUInt64(bytes, header + 0x18, description)),
                Size: checked((int)ReadUInt64(bytes, header + 0x20, description)),
                Link: checked((int)ReadUInt32(bytes, header + 0x28, description)),
                EntrySize: checked((int)ReadUInt64(bytes, header + 0x38, description)));
        }
        var image = new ElfImage(bytes, sections);
        foreach (var section in sections.Where(s => s.Type != SectionTypeNoBits))
            image.RequireInFile(section.Offset, section.Size);
        return image;
    }

    /// <summary>The version names the file defines (<c>.gnu.version_d</c>), for example every <c>GLIBCXX_*</c> of a
    /// libstdc++; empty when it defines none.</summary>
    public IReadOnlyList<string> VersionDefinitions()
    {
        var names = new List<string>();
        foreach (var section in SectionsOfType(SectionTypeVersionDefinitions))
        {
            var entry = section.Offset;
            while (true)
            {
                var flags = ReadUInt16(entry + 2);
                var firstAux = entry + (int)ReadUInt32(entry + 12);
                if ((flags & VersionDefinitionFlagBase) == 0)
                    names.Add(ReadString(section.Link, ReadUInt32(firstAux)));
                var next = ReadUInt32(entry + 16);
                if (next == 0)
                    break;
                entry += (int)next;
            }
        }
        return names;
    }

    /// <summary>Every version the file needs from its dependencies (<c>.gnu.version_r</c>).</summary>
    public IReadOnlyList<VersionNeed> VersionNeeds()
    {
        var needs = new List<VersionNeed>();
        foreach (var section in SectionsOfType(SectionTypeVersionNeeds))
        {
            var entry = section.Offset;
            while (true)
            {
                var file = ReadString(section.Link, ReadUInt32(entry + 4));
                var aux = entry + (int)ReadUInt32(entry + 8);
                for (var i = ReadUInt16(entry + 2); i > 0; i--)
                {
                    needs.Add(new VersionNeed(
                        File: file,
                        Version: ReadString(section.Link, ReadUInt32(aux + 8)),
                        Index: (ushort)(ReadUInt16(aux + 6) & VersionIndexMask),
                        Flags: ReadUInt16(aux + 4),
                        FlagsOffset: aux + 4));
                    aux += (int)ReadUInt32(aux + 12);
                }
                var next = ReadUInt32(entry + 12);
                if (next == 0)
                    break;
                entry += (int)next;
            }
        }
        return needs;
    }

    /// <summary>The dynamic symbols (<c>.dynsym</c>) with their version indexes.</summary>
    public IReadOnlyList<DynamicSymbol> DynamicSymbols()
    {
        var table = SectionsOfType(SectionTypeDynamicSymbols).FirstOrDefault();
        var versions = SectionsOfType(SectionTypeSymbolVersions).FirstOrDefault();
        var symbols = new List<DynamicSymbol>();
        if (table.EntrySize == 0)
            return symbols;
        for (var index = 0; index < table.Size / table.EntrySize; index++)
        {
            var symbol = table.Offset + index * table.EntrySize;
            var versionIndex = versions.Size == 0 ? (ushort)0 : (ushort)(ReadUInt16(versions.Offset + 2 * index) & VersionIndexMask);
            symbols.Add(new DynamicSymbol(
                Index: index,
                Name: ReadString(table.Link, ReadUInt32(symbol)),
                IsDefined: ReadUInt16(symbol + 6) != 0,
                VersionIndex: versionIndex));
        }
        return symbols;
    }

    /// <summary>The <c>.dynsym</c> indexes of the symbols some dynamic relocation refers to: the only symbols the
    /// loader ever looks up (an imported symbol no relocation uses is never bound).</summary>
    public IReadOnlySet<int> SymbolsBoundByRelocations()
    {
        var dynamicSymbols = Array.FindIndex(_sections, s => s.Type == SectionTypeDynamicSymbols);
        var bound = new HashSet<int>();
        foreach (var section in _sections.Where(s => (s.Type is SectionTypeRela or SectionTypeRel) && s.Link == dynamicSymbols))
        {
            // r_info is the second 8-byte field of both Elf64_Rel and Elf64_Rela; its high half is the symbol index.
            for (var entry = section.Offset; entry < section.Offset + section.Size; entry += section.EntrySize)
                bound.Add((int)(ReadUInt64(entry + 8) >> 32));
        }
        bound.Remove(0); // index 0 is the null symbol of relocations that name none
        return bound;
    }

    private IEnumerable<Section> SectionsOfType(uint type) => _sections.Where(s => s.Type == type);

    private string ReadString(int stringTableSection, uint offset)
    {
        var table = _sections[stringTableSection];
        var start = table.Offset + (int)offset;
        var end = Array.IndexOf(_bytes, (byte)0, start, table.Offset + table.Size - start);
        if (offset >= table.Size || end < 0)
            throw new InvalidDataException($"A string at {offset} runs past its string table.");
        return Encoding.UTF8.GetString(_bytes, start, end - start);
    }

    private void RequireInFile(int offset, int size)
    {
        if (offset < 0 || size < 0 || (long)offset + size > _bytes.Length)
            throw new InvalidDataException($"A section ({offset}+{size}) runs past the end of the file ({_bytes.Length} bytes).");
    }

    private ushort ReadUInt16(int offset) => ReadUInt16(_bytes, offset, "the file");
    private uint ReadUInt32(int offset) => ReadUInt32(_bytes, offset, "the file");
    private ulong ReadUInt64(int offset) => ReadUInt64(_bytes, offset, "the file");

    private static ushort ReadUInt16(byte[] bytes, int offset, string description) =>
        BinaryPrimitives.ReadUInt16LittleEndian(Slice(bytes, offset, 2, description));

    private static uint ReadUInt32(byte[] bytes, int offset, string description) =>
        BinaryPrimitives.ReadUInt32LittleEndian(Slice(bytes, offset, 4, description));

    private static ulong ReadUInt64(byte[] bytes, int offset, string description) =>
        BinaryPrimitives.ReadUInt64LittleEndian(Slice(bytes, offset, 8, description));

    private static ReadOnlySpan<byte> Slice(byte[] bytes, int offset, int length, string description) =>
        offset >= 0 && (long)offset + length <= bytes.Length
            ? bytes.AsSpan(offset, length)
            : throw new InvalidDataException($"{description} is truncated (a field at {offset} lies past its {bytes.Length} bytes).");
}
