namespace MLNetNormalization.Data;

/// <summary>How vector getters hand out values: into the caller's array when its length fits, else a new one.</summary>
internal static class VectorCopy
{
    public static void Into<T>(ReadOnlySpan<T> source, ref T[] destination)
    {
        if (destination is null || destination.Length != source.Length) destination = new T[source.Length];
        source.CopyTo(destination);
    }
}
