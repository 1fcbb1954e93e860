using MLNetNormalization.TorchBinding.Serialization;

namespace MLNetNormalization.TorchBinding.NN;

/// <summary>
/// A network component: owns its parameters (trainable), buffers (state such as running statistics)
/// and child modules, all addressed by dotted names ("conv1.weight"), as PyTorch's nn.Module.
/// </summary>
public abstract class Module : IDisposable
{
    private readonly List<KeyValuePair<string, Tensor>> parameters = [];
    private readonly List<KeyValuePair<string, Tensor>> buffers = [];
    private readonly List<KeyValuePair<string, Module>> children = [];
    private readonly HashSet<string> buffersOfFixedType = [];

    public bool IsTraining { get; private set; } = true;

    public abstract Tensor Forward(Tensor input);

    /// <summary>Registers a trainable tensor: it leaves any dispose scope (the module owns it) and requires grad.</summary>
    protected Tensor RegisterParameter(string name, Tensor value)
    {
        CheckNewName(name);
        value.DetachFromDisposeScope();
        value.RequiresGrad = true;
        parameters.Add(new(name, value));
        return value;
    }

    /// <summary>Registers non-trainable state that is saved with the module (running statistics, counters).</summary>
    /// <param name="name">The buffer's name in <see cref="State"/>.</param>
    /// <param name="value">The buffer, which the module now owns.</param>
    /// <param name="keepType">
    /// True for state whose element type is part of its meaning, such as statistics kept in float64 so that they
    /// do not cancel whatever the module's own type: <see cref="To(ScalarType)"/> then leaves the buffer's type as
    /// it is (<see cref="To(Device)"/> still moves it).
    /// </param>
    protected Tensor RegisterBuffer(string name, Tensor value, bool keepType = false)
    {
        CheckNewName(name);
        value.DetachFromDisposeScope();
        buffers.Add(new(name, value));
        if (keepType) buffersOfFixedType.Add(name);
        return value;
    }

    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckNewName(name);
        children.Add(new(name, module));
        return module;
    }

    /// <summary>
    /// Puts <paramref name="replacement"/> in the place of the child named <paramref name="name"/>, at the same
    /// position in the registration order: every other member keeps its name and place, and the replacement's
    /// parameters and buffers are listed where the old child's were. The old child is not disposed: this module
    /// no longer owns it, and the caller, who may still hold it, disposes it.
    /// </summary>
    protected void ReplaceModule(string name, Module replacement)
    {
        ArgumentNullException.ThrowIfNull(replacement);
        var index = children.FindIndex(c => c.Key == name);
        if (index < 0)
            throw new ArgumentException(
                $"{GetType().Name} has no child module named '{name}' to replace; its children are [{string.Join(", ", children.Select(c => c.Key))}].",
                nameof(name));
        children[index] = new(name, replacement);
    }

    private void CheckNewName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"'{name}' is not a valid member name: use a non-empty name without dots.", nameof(name));
        if (parameters.Exists(p => p.Key == name) || buffers.Exists(b => b.Key == name) || children.Exists(c => c.Key == name))
            throw new ArgumentException($"{GetType().Name} already has a member named '{name}'.", nameof(name));
    }

    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters() => Collect(m => m.parameters, "");

    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers() => Collect(m => m.buffers, "");

    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Parameter);

    public IEnumerable<(string Name, Module Module)> NamedChildren() => children.Select(c => (c.Key, c.Value));

    /// <summary>This module and every descendant, depth first, with dotted names ("" for this one).</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules()
    {
        yield return ("", this);
        foreach (var (childName, child) in children)
            foreach (var (name, module) in child.NamedModules())
                yield return (name.Length == 0 ? childName : $"{childName}.{name}", module);
    }

    private IEnumerable<(string, Tensor)> Collect(Func<Module, List<KeyValuePair<string, Tensor>>> select, string prefix)
    {
        foreach (var (name, module) in NamedModules())
            foreach (var (member, tensor) in select(module))
                yield return (prefix + (name.Length == 0 ? member : $"{name}.{member}"), tensor);
    }

    /// <summary>Training mode (batch statistics, dropout) for this module and its descendants.</summary>
    public Module Train(bool training = true)
    {
        foreach (var (_, module) in NamedModules()) module.IsTraining = training;
        return this;
    }

    /// <summary>Evaluation mode (running statistics, no dropout).</summary>
    public Module Eval() => Train(false);

    /// <summary>Moves every parameter and buffer to <paramref name="device"/>, keeping the same Tensor objects (an optimizer's references stay valid).</summary>
    public Module To(Device device) => Convert(tensor => tensor.Device == device ? null : tensor.To(device), isTypeConversion: false);

    /// <summary>
    /// Converts the floating-point parameters and buffers to <paramref name="type"/> (Float32 or Float64), keeping the
    /// same Tensor objects; buffers registered to keep their type (statistics held in float64) are left as they are.
    /// </summary>
    public Module To(ScalarType type)
    {
        if (type is not (ScalarType.Float32 or ScalarType.Float64))
            throw new ArgumentException($"Modules hold floating-point tensors; convert to Float32 or Float64, not {type}.", nameof(type));
        return Convert(tensor => tensor.Type is ScalarType.Float32 or ScalarType.Float64 && tensor.Type != type ? tensor.To(type) : null,
                       isTypeConversion: true);
    }

    // Replaces each parameter and buffer by convert(it) where that is not null, in place; a type conversion skips
    // the buffers of fixed type.
    private Module Convert(Func<Tensor, Tensor?> convert, bool isTypeConversion)
    {
        using var noGrad = Torch.NoGrad();
        foreach (var (_, module) in NamedModules())
        {
            foreach (var (_, parameter) in module.parameters) ReplaceKeepingIdentity(parameter, convert, requiresGrad: true);
            foreach (var (name, buffer) in module.buffers)
                if (!(isTypeConversion && module.buffersOfFixedType.Contains(name)))
                    ReplaceKeepingIdentity(buffer, convert, requiresGrad: false);
        }
        return this;
    }

    private static void ReplaceKeepingIdentity(Tensor tensor, Func<Tensor, Tensor?> convert, bool requiresGrad)
    {
        using var converted = convert(tensor)?.DetachFromDisposeScope();
        if (converted is null) return;
        tensor.ReplaceWith(converted);
        if (requiresGrad) tensor.RequiresGrad = true;
    }

    /// <summary>Parameters then buffers, by dotted name: what <see cref="Save"/> writes.</summary>
    public IReadOnlyList<(string Name, Tensor Value)> State() =>
        NamedParameters().Concat(NamedBuffers()).ToList();

    /// <summary>Copies values into this module's parameters and buffers; names, shapes and element types must match exactly.</summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> state)
    {
        var own = State();
        var missing = own.Select(s => s.Name).Where(n => !state.ContainsKey(n)).ToList();
        var unexpected = state.Keys.Except(own.Select(s => s.Name)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
            throw new InvalidDataException(
                $"The state does not fit {GetType().Name}: missing [{string.Join(", ", missing)}], unexpected [{string.Join(", ", unexpected)}]. " +
                "Load a state saved from the same architecture and options.");
        foreach (var (name, target) in own)
        {
            var source = state[name];
            if (!source.Shape.SequenceEqual(target.Shape) || source.Type != target.Type)
                throw new InvalidDataException(
                    $"'{name}' is {source.Type} [{string.Join(", ", source.Shape)}] in the state but {target.Type} [{string.Join(", ", target.Shape)}] in {GetType().Name}.");
        }
        using var noGrad = Torch.NoGrad();
        foreach (var (name, target) in own) target.CopyFrom(state[name]);
    }

    /// <summary>Writes <see cref="State"/> to a tensor file (format: docs/tensor-file-format.md), atomically.</summary>
    public void Save(string path) => TensorFile.Save(path, State());

    /// <summary>Reads a file written by <see cref="Save"/> into this module.</summary>
    public void Load(string path)
    {
        var state = TensorFile.Load(path);
        try
        {
            LoadState(state);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        finally
        {
            foreach (var tensor in state.Values) tensor.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var (_, tensor) in parameters) tensor.Dispose();
        foreach (var (_, tensor) in buffers) tensor.Dispose();
        foreach (var (_, child) in children) child.Dispose();
    }
}
