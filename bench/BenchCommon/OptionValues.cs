using System.Globalization;

namespace MLNetNormalization.Bench;

/// <summary>Checked parsing of command-line option values; each error names the option.</summary>
public static class OptionValues
{
    /// <summary>
    /// Walks a benchmark's arguments: "--help", "-h", "-?" and each of <paramref name="flags"/> go to <paramref name="flag"/>
    /// alone; every other name takes the next argument as its value and goes to <paramref name="option"/>, which throws
    /// <see cref="Unknown"/> for a name it does not know.
    /// </summary>
    /// <exception cref="ArgumentException">An option without its value, or what <paramref name="option"/> throws.</exception>
    public static void Walk(string[] args, IReadOnlyCollection<string> flags, Action<string> flag, Action<string, string> option)
    {
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name is "--help" or "-h" or "-?" || flags.Contains(name))
            {
                flag(name);
                continue;
            }
            if (i + 1 >= args.Length)
                throw new ArgumentException($"Option {name} needs a value (see --help).");
            option(name, args[++i]);
        }
    }

    /// <summary>The error for an option name a benchmark does not know.</summary>
    public static ArgumentException Unknown(string name) => new($"Unknown option '{name}' (see --help).");

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
