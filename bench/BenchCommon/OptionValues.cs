using System.Globalization;

namespace MLNetNormalization.Bench;

/// <summary>Checked parsing of command-line option values; each error names the option.</summary>
public static class OptionValues
{
    public static int Positive(string name, string value)
    {
        var n = Integer(name, value);
        return n > 0 ? n : throw new ArgumentException($"{name} must be positive, got {n}.");
    }

    public static int NonNegative(string name, string value)
    {
        var n = Integer(name, value);
        return n >= 0 ? n : throw new ArgumentException($"{name} must be >= 0, got {n}.");
    }

    public static double Percent(string name, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var p) && p is >= 0 and <= 100
            ? p
            : throw new ArgumentException($"{name} needs a percentage between 0 and 100, got '{value}'.");

    /// <summary>A switch given as "on" or "off".</summary>
    public static bool OnOff(string name, string value) => value switch
    {
        "on" => true,
        "off" => false,
        _ => throw new ArgumentException($"{name} takes on or off, not {value}."),
    };

    public static int Integer(string name, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new ArgumentException($"{name} needs an integer, got '{value}'.");
}
