namespace MLNetNormalization.TorchBinding.NN;

/// <summary>Applies its modules in order; they are named "0", "1", ... unless given names.</summary>
public sealed class Sequential : Module
{
    private readonly List<Module> layers = [];

    public Sequential(params Module[] modules)
    {
        foreach (var module in modules) Append(module);
    }

    public Sequential Append(Module module, string? name = null)
    {
        layers.Add(RegisterModule(name ?? layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module));
        return this;
    }

    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var layer in layers) x = layer.Forward(x);
        return x;
    }
}
