namespace MLNetNormalization.TorchBinding;

/// <summary>Element types; the values are the shim's dtype codes.</summary>
public enum ScalarType
{
    Float32 = 0,
    Float64 = 1,
    Int64 = 2,
    Bool = 3,
    UInt8 = 4,
    Int32 = 5,
}

internal static class ScalarTypes
{
    internal static int ElementSize(this ScalarType type) => type switch
    {
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Bool or ScalarType.UInt8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown scalar type"),
    };

    /// <summary>The scalar type stored as the managed type T.</summary>
    internal static ScalarType Of<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return ScalarType.Float32;
        if (typeof(T) == typeof(double)) return ScalarType.Float64;
        if (typeof(T) == typeof(long)) return ScalarType.Int64;
        if (typeof(T) == typeof(bool)) return ScalarType.Bool;
        if (typeof(T) == typeof(byte)) return ScalarType.UInt8;
        if (typeof(T) == typeof(int)) return ScalarType.Int32;
        throw new NotSupportedException(
            $"{typeof(T).Name} has no tensor element type; use float, double, long, int, byte or bool.");
    }
}
