using System.Text.Json;
using System.Text.Json.Serialization;

namespace MLNetNormalization.Model;

/// <summary>The JSON settings of every JSON entry of a model file.</summary>
internal static class ModelJson
{
    /// <summary>
    /// Indented camelCase, so a person can read a model file's entries; NaN and infinities as named literals,
    /// since learned values (key maps, statistics) may hold them; missing or null required members are errors
    /// rather than silent defaults.
    /// </summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };
}
