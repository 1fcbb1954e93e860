using System.Globalization;

namespace MLNetNormalization.Normalization;

/// <summary>
/// Builds normalizers from strings, in the style of timm's create_norm: a name, then optional
/// "key=value" parameters after a colon, e.g. "bn", "ghost:b=32", "bgn:g=8,b=2", "mn:k=2", "mgn:k=2",
/// "hn:g=1", "hn:mean=gn8,std=en1", "en:g=1", "gn:g=32", "ln", "in", "sn". Every normalizer also takes
/// eps, momentum and alpha (its inference example weight). A model resolves the string once and
/// builds each layer as factory(channels).
/// </summary>
public static class NormalizerFactory
{
    /// <summary>
    /// A normalizer's name, usage and parameters. <see cref="Bind"/> reads and checks its arguments, so that
    /// every mistake in the string shows when it is parsed rather than when a model builds its first layer,
    /// and returns the builder of a layer by channel count.
    /// </summary>
    private sealed record Kind(string Name, string Usage, string[] Parameters, Func<Arguments, Func<long, NormalizationLayer>> Bind);

    /// <summary>K of "mn" and "mgn" when the string gives none: 2, the mode-normalization paper's.</summary>
    public const int DefaultModes = 2;

    /// <summary>G of "gn" when the string gives none: 32, the group-normalization paper's.</summary>
    public const int DefaultGroupNormGroups = 32;

    /// <summary>G of "en", and of the std set of "hn:g=G", when the string gives none: 1, a set of every channel.</summary>
    public const int DefaultExtendedNormGroups = 1;

    private static readonly string[] Common = ["eps", "momentum", "alpha"];

    private static readonly Kind[] Kinds =
    [
        new("bn", "bn", [], a => c => new BatchNorm(c, a.Eps, a.Momentum)),
        new("ghost", "ghost:b=<ghost batch size>", ["b"], a =>
        {
            var ghostSize = a.Int("b");
            return c => new GhostBatchNorm(c, ghostSize, a.Eps, a.Momentum);
        }),
        new("bgn", "bgn:g=<groups>,b=<examples per group>", ["g", "b"], a =>
        {
            var (groups, examplesPerGroup) = (a.Int("g"), a.Int("b"));
            return c => new BatchGroupNorm(c, groups, examplesPerGroup, a.Eps, a.Momentum);
        }),
        new("mn", $"mn:k=<modes, {DefaultModes}>", ["k"], a =>
        {
            var modes = a.Int("k", DefaultModes);
            return c => new ModeNorm(c, modes, a.Eps, a.Momentum);
        }),
        new("mgn", $"mgn:k=<modes, {DefaultModes}>[,weighted=true]", ["k", "weighted"], a =>
        {
            var (modes, gateWeighted) = (a.Int("k", DefaultModes), a.Bool("weighted"));
            return c => new ModeGroupNorm(c, modes, gateWeighted, a.Eps, a.Momentum);
        }),
        new("hn", $"hn:g=<EN groups of the std, {DefaultExtendedNormGroups}> or hn:mean=<set>,std=<set> with sets bn, in, ln, gn<G>, en<G>", ["g", "mean", "std"], BindHeterologous),
        new("en", $"en:g=<groups, {DefaultExtendedNormGroups}>", ["g"], a =>
        {
            var groups = a.Int("g", DefaultExtendedNormGroups);
            return c => new ExtendedNorm(c, groups, a.Eps, a.Momentum);
        }),
        new("gn", $"gn:g=<groups, {DefaultGroupNormGroups}>", ["g"], a =>
        {
            var groups = a.Int("g", DefaultGroupNormGroups);
            return c => new GroupNorm(c, groups, a.Eps, a.Momentum);
        }),
        new("ln", "ln", [], a => c => new LayerNorm(c, a.Eps, a.Momentum)),
        new("in", "in", [], a => c => new InstanceNorm(c, a.Eps, a.Momentum)),
        new("sn", "sn", [], a => c => new SwitchableNorm(c, a.Eps, a.Momentum)),
    ];

    /// <summary>Every accepted form, for messages and help texts.</summary>
    public static string ValidForms => string.Join("; ", Kinds.Select(k => k.Usage)) + $" (each also takes {string.Join(", ", Common)})";

    /// <summary>Parses <paramref name="specification"/> (throwing on any error) and returns a factory of layers by channel count.</summary>
    public static Func<long, NormalizationLayer> Create(string specification)
    {
        var (kind, arguments) = Parse(specification);
        var build = kind.Bind(arguments);
        return channels =>
        {
            var layer = build(channels);
            if (arguments.Alpha is { } alpha) layer.Alpha = alpha;
            return layer;
        };
    }

    /// <summary>Builds one layer for <paramref name="channels"/> channels.</summary>
    public static NormalizationLayer Create(string specification, long channels) => Create(specification)(channels);

    private static (Kind, Arguments) Parse(string specification)
    {
        if (string.IsNullOrWhiteSpace(specification))
            throw new ArgumentException($"The normalizer is empty; valid forms: {ValidForms}.", nameof(specification));
        var colon = specification.IndexOf(':');
        var name = (colon < 0 ? specification : specification[..colon]).Trim().ToLowerInvariant();
        var kind = Kinds.FirstOrDefault(k => k.Name == name)
            ?? throw new ArgumentException($"Unknown normalizer '{name}' in \"{specification}\"; valid forms: {ValidForms}.", nameof(specification));
        var values = new Dictionary<string, string>();
        if (colon >= 0)
        {
            foreach (var part in specification[(colon + 1)..].Split(',', StringSplitOptions.TrimEntries))
            {
                var equals = part.IndexOf('=');
                var key = equals < 0 ? part : part[..equals].Trim().ToLowerInvariant();
                var valid = kind.Parameters.Concat(Common).ToArray();
                if (equals < 0 || !valid.Contains(key))
                    throw new ArgumentException(
                        $"\"{specification}\": '{part}' is not a parameter of {kind.Name}; it takes {string.Join(", ", valid.Select(v => v + "=<value>"))} ({kind.Usage}).",
                        nameof(specification));
                if (!values.TryAdd(key, part[(equals + 1)..].Trim()))
                    throw new ArgumentException($"\"{specification}\" gives {key} twice; give each parameter once.", nameof(specification));
            }
        }
        var arguments = new Arguments(specification, kind, values);
        _ = arguments.Eps;
        _ = arguments.Momentum;
        _ = arguments.Alpha;
        return (kind, arguments);
    }

    private static Func<long, NormalizationLayer> BindHeterologous(Arguments a)
    {
        if (a.Has("g") && (a.Has("mean") || a.Has("std")))
            throw a.Error("give either g (HN_G = mean BN, std EN(g)) or mean/std sets, not both");
        var meanSet = a.Has("mean") ? a.Set("mean") : PixelSet.Batch;
        var stdSet = a.Has("std") ? a.Set("std") : PixelSet.Extended(a.Int("g", DefaultExtendedNormGroups));
        return c => new HeterologousNorm(c, meanSet, stdSet, a.Eps, a.Momentum);
    }

    private sealed class Arguments(string specification, Kind kind, Dictionary<string, string> values)
    {
        public bool Has(string key) => values.ContainsKey(key);

        public double Eps => Double("eps", NormalizationLayer.DefaultEps, positive: true);
        public double Momentum => Double("momentum", NormalizationLayer.DefaultMomentum, positive: false);
        public double? Alpha => Has("alpha") ? Double("alpha", 0, positive: false) : null;

        public int Int(string key, int? fallback = null)
        {
            if (!values.TryGetValue(key, out var text))
                return fallback ?? throw Error($"{key} is required ({kind.Usage})");
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
                ? value
                : throw Error($"{key} must be a positive integer, got '{text}'");
        }

        public bool Bool(string key) =>
            !values.TryGetValue(key, out var text) ? false
            : bool.TryParse(text, out var value) ? value
            : throw Error($"{key} must be true or false, got '{text}'");

        public PixelSet Set(string key)
        {
            var text = values[key].ToLowerInvariant();
            PixelSet? set = text switch
            {
                "bn" => PixelSet.Batch,
                "in" => PixelSet.Instance,
                "ln" => PixelSet.Layer,
                _ when text.StartsWith("gn", StringComparison.Ordinal) && GroupsOf(text) is { } g => PixelSet.Group(g),
                _ when text.StartsWith("en", StringComparison.Ordinal) && GroupsOf(text) is { } g => PixelSet.Extended(g),
                _ => null,
            };
            return set ?? throw Error($"{key} must be one of bn, in, ln, gn<G>, en<G> (e.g. gn8, en1), got '{values[key]}'");
        }

        private static int? GroupsOf(string text) =>
            int.TryParse(text.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out var g) && g > 0 ? g : null;

        private double Double(string key, double fallback, bool positive)
        {
            if (!values.TryGetValue(key, out var text)) return fallback;
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) && (positive ? value > 0 : value is >= 0 and <= 1))
                return value;
            throw Error($"{key} must be {(positive ? "a positive number" : "a number in [0, 1]")}, got '{text}'");
        }

        public ArgumentException Error(string problem) =>
            new($"\"{specification}\": {problem}.", nameof(specification));
    }
}
