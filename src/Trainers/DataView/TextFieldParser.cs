using System.Globalization;

namespace MLNetNormalization.Data;

/// <summary>
/// Parses one text field as a column value, invariant culture. Empty or "?" reads as NaN for Single and Double
/// (ML.NET's missing value); for integers and booleans an empty field is an error, since they have no missing value.
/// Booleans accept true/false and 1/0, any case.
/// </summary>
internal static class TextFieldParser
{
    public static Func<string, (bool Ok, TValue Value)> For<TValue>()
    {
        object parser = typeof(TValue) switch
        {
            var t when t == typeof(string) => (Func<string, (bool, string)>)(s => (true, s)),
            var t when t == typeof(float) => (Func<string, (bool, float)>)(s => IsMissing(s) ? (true, float.NaN) : (float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v), v)),
            var t when t == typeof(double) => (Func<string, (bool, double)>)(s => IsMissing(s) ? (true, double.NaN) : (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v), v)),
            var t when t == typeof(byte) => (Func<string, (bool, byte)>)(s => (byte.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v), v)),
            var t when t == typeof(int) => (Func<string, (bool, int)>)(s => (int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v), v)),
            var t when t == typeof(long) => (Func<string, (bool, long)>)(s => (long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v), v)),
            var t when t == typeof(uint) => (Func<string, (bool, uint)>)(s => (uint.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v), v)),
            var t when t == typeof(bool) => (Func<string, (bool, bool)>)ParseBoolean,
            _ => throw new NotSupportedException($"Text files can hold only scalar columns ({RowMember.SupportedTypes.Replace(", and arrays of these (vector columns)", "")}), not {typeof(TValue).Name}."),
        };
        return (Func<string, (bool, TValue)>)parser;
    }

    private static bool IsMissing(string field) => field.Length == 0 || field == "?";

    private static (bool, bool) ParseBoolean(string field) => field.Trim().ToLowerInvariant() switch
    {
        "true" or "1" => (true, true),
        "false" or "0" => (true, false),
        _ => (false, false),
    };
}
