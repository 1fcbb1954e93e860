namespace MLNetNormalization.Data;

/// <summary>An unsigned-byte array read from an IDX file, with its dimensions.</summary>
internal sealed record IdxArray(int[] Dimensions, byte[] Values);

/// <summary>
/// Reads IDX files (the MNIST / Fashion-MNIST format), gzipped or not: two zero bytes, a type code,
/// the rank, big-endian int32 sizes, then the values row-major. Only the unsigned-byte type (0x08),
/// which the image and label files use, is supported.
/// </summary>
internal static class IdxFile
{
    public static IdxArray Read(string path)
    {
        using var reader = IdxReader.Open(path);
        var values = new byte[checked((int)reader.ValueCount)];
        reader.Read(values, $"its {values.Length} values");
        return new IdxArray(reader.Dimensions, values);
    }
}
