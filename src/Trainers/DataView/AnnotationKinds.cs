namespace MLNetNormalization.Data;

/// <summary>Names of the annotations this library attaches to columns.</summary>
public static class AnnotationKinds
{
    /// <summary>On a key column: a vector whose entry k - 1 is the value key k stands for.</summary>
    public const string KeyValues = "KeyValues";
}
