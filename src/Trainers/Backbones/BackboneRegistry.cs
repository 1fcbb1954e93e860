using TorchSharp;
using static TorchSharp.torch;
using System.Collections.Concurrent;

namespace MLNetNormalization.Backbones;

/// <summary>
/// Backbones by name: what <see cref="ImageClassifierWithNormOptions.Backbone"/> names and a saved model records, so that
/// Fit builds the network and <c>ml.Model.Load</c>, in this process or another, builds it again for the saved weights.
/// The built-in architectures are entries under their <see cref="Architecture"/> names ("LeNet", "ResNet20", ...); an
/// app registers its own factories before Fit or Load, as ML.NET's CustomMapping contracts are registered. Thread-safe.
/// </summary>
public static class BackboneRegistry
{
    private static readonly ConcurrentDictionary<string, BackboneFactory> Factories = new(
        Enum.GetValues<Architecture>().Select(architecture => KeyValuePair.Create<string, BackboneFactory>(
            architecture.ToString(), (input, classes, normalization) => Backbone.Create(architecture, input, classes, normalization))),
        StringComparer.Ordinal);

    /// <summary>Registers <paramref name="factory"/> under <paramref name="name"/>; registering the same factory again does nothing.</summary>
    /// <exception cref="ArgumentException">The name is empty, or another factory (a built-in architecture's included) has it.</exception>
    public static void Register(string name, BackboneFactory factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        var registered = Factories.GetOrAdd(name, factory);
        if (registered != factory)
            throw new ArgumentException(
                $"A backbone named '{name}' is registered already{(BuiltIn(name) is null ? "" : " (a built-in architecture)")}; register yours under another name.", nameof(name));
    }

    /// <summary>Whether a backbone is registered under <paramref name="name"/> (every built-in architecture is).</summary>
    public static bool IsRegistered(string name) => Factories.ContainsKey(name);

    /// <summary>Every registered name, in ordinal order.</summary>
    public static IReadOnlyList<string> Names => [.. Factories.Keys.Order(StringComparer.Ordinal)];

    /// <summary>
    /// A new network of the backbone registered under <paramref name="name"/>, built-in or not, its normalization layers
    /// made by <paramref name="plan"/> (<see cref="Backbone.Create(BackboneFactory, ImageShape, int, NormalizerPlan?)"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">Nothing is registered under the name (the message says what to register).</exception>
    internal static nn.Module<Tensor, Tensor> Create(string name, ImageShape input, int classes, NormalizerPlan plan) =>
        Backbone.Create(Factories.TryGetValue(name, out var factory) ? factory : throw new InvalidOperationException(NotRegistered(name)), input, classes, plan);

    /// <summary>The built-in architecture registered under <paramref name="name"/>, or null for a factory of the app's own.</summary>
    internal static Architecture? BuiltIn(string name) =>
        Enum.TryParse<Architecture>(name, out var architecture) && name == architecture.ToString() ? architecture : null;

    /// <summary>What to do about a name nothing is registered under.</summary>
    internal static string NotRegistered(string name) =>
        $"no backbone named '{name}' is registered in this process; call BackboneRegistry.Register(\"{name}\", factory) with your BackboneFactory " +
        $"first (before Fit, and before ml.Model.Load for a model trained on it). Registered: {string.Join(", ", Names)}.";
}
