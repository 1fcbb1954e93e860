namespace MLNetNormalization.TorchBinding.NN;

// Parameter-free layers, so that networks can be written as a Sequential.

/// <summary>Returns its input: what stands in a network where a layer was folded away (a normalizer folded into its convolution).</summary>
public sealed class Identity : Module
{
    public override Tensor Forward(Tensor input) => input;
}

public sealed class ReLU : Module
{
    public override Tensor Forward(Tensor input) => input.Relu();
}

public sealed class MaxPool2d(long kernelSize, long? stride = null, long padding = 0) : Module
{
    public override Tensor Forward(Tensor input) =>
        Functional.MaxPool2d(input, (kernelSize, kernelSize), (stride ?? kernelSize, stride ?? kernelSize), (padding, padding));
}

public sealed class AdaptiveAvgPool2d(long outputHeight, long outputWidth) : Module
{
    public override Tensor Forward(Tensor input) => Functional.AdaptiveAvgPool2d(input, (outputHeight, outputWidth));
}

public sealed class Dropout(double probability) : Module
{
    public override Tensor Forward(Tensor input) => Functional.Dropout(input, probability, IsTraining);
}

/// <summary>Flattens every dimension after the batch dimension.</summary>
public sealed class Flatten : Module
{
    public override Tensor Forward(Tensor input) => input.Flatten(1);
}
