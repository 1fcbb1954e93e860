using System.Security.Cryptography;

namespace MLNetNormalization.Training;

/// <summary>
/// A file that is either whole and as written, or refused: the content, then its SHA-256 (32 bytes) and a closing
/// marker line. Written as an <see cref="AtomicFile"/>, so a kill or a crash at any moment leaves the previous file or the
/// new one; a file damaged or cut short afterwards fails the check on reading.
/// Readers of the content stop at its own end and never see the trailer.
/// </summary>
internal static class ChecksummedFile
{
    private const int DigestBytes = 32;
    private static ReadOnlySpan<byte> Marker => "\nMLNetNormalization SHA-256\n"u8;

    /// <summary>Writes what <paramref name="write"/> writes to its stream, with the trailer, atomically to <paramref name="path"/>.</summary>
    public static void Write(string path, Action<Stream> write) => AtomicFile.Write(path, file =>
    {
        using var sha256 = SHA256.Create();
        // Buffered above the hash, which passes each write on to the file as it comes (a tensor's header is a few bytes).
        using (var hashing = new CryptoStream(file, sha256, CryptoStreamMode.Write, leaveOpen: true))
        using (var buffered = new BufferedStream(hashing, 1 << 20))
            write(buffered);
        file.Write(sha256.Hash!);
        file.Write(Marker);
    });

    /// <summary>Opens <paramref name="path"/> for reading its content, once its trailer has been checked.</summary>
    /// <param name="what">What the file is, for the messages ("training checkpoint").</param>
    /// <param name="remedy">What the user can do about a damaged file, as a sentence.</param>
    /// <exception cref="InvalidDataException">When the file is cut short, has no trailer, or its content differs from the checksum.</exception>
    public static FileStream OpenVerified(string path, string what, string remedy)
    {
        var file = File.OpenRead(path);
        try
        {
            var contentLength = file.Length - DigestBytes - Marker.Length;
            Span<byte> trailer = stackalloc byte[DigestBytes + Marker.Length];
            if (contentLength < 0)
                throw new InvalidDataException($"{path} is not a {what} of this version, or it was cut short: it is {file.Length} bytes, shorter than its checksum. {remedy}");
            file.Position = contentLength;
            file.ReadExactly(trailer);
            if (!trailer[DigestBytes..].SequenceEqual(Marker))
                throw new InvalidDataException($"{path} is not a {what} of this version, or it was cut short: it does not end with its SHA-256. {remedy}");
            file.Position = 0;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1 << 20];
            for (var left = contentLength; left > 0;)
            {
                var read = file.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (read == 0) throw new EndOfStreamException();
                hash.AppendData(buffer, 0, read);
                left -= read;
            }
            if (!hash.GetHashAndReset().AsSpan().SequenceEqual(trailer[..DigestBytes]))
                throw new InvalidDataException($"{path} is damaged: its content does not match the SHA-256 written with it. {remedy}");
            file.Position = 0;
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }
}
