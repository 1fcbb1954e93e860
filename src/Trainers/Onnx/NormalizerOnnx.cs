using MLNetNormalization.Normalization;
using MLNetNormalization.Normalization.Core;
using static TorchSharp.torch;

namespace MLNetNormalization.Onnx;

/// <summary>
/// The inference of every normalization layer whose statistics depend on the example, as ONNX nodes (float32, opset
/// <see cref="OnnxExport.OpsetVersion"/>): the
/// layer's own algebra of docs/normalizers.md on the example's cell moments, with its running moments, gamma, beta and
/// gates as initializers. Layers that are a fixed per-channel affine at inference never get here: the network writer
/// folds them into the convolution before them, or writes their affine.
/// </summary>
internal static class NormalizerOnnx
{
    /// <summary>Writes <paramref name="layer"/>'s evaluation-mode output for the NCHW value <paramref name="x"/>.</summary>
    public static string Write(OnnxNetworkWriter writer, NormalizationLayer layer, string x)
    {
        var o = new Ops(writer.Graph, writer.Path);
        var cells = CellMoments(o, x);
        return layer switch
        {
            PixelSetNorm pixelSet => Normalize(o, layer, x, SetInference(o, pixelSet.Statistics, cells, layer)),
            HeterologousNorm heterologous => Normalize(o, layer, x, new(
                SetInference(o, heterologous.MeanStatistics, cells, layer).Mean, SetInference(o, heterologous.StdStatistics, cells, layer).Var)),
            SwitchableNorm switchable => Normalize(o, layer, x, Switchable(o, switchable, x, cells)),
            ModeNorm modeNorm => CellAffine(o, cells, ModeNormAffine(o, modeNorm, cells)),
            ModeGroupNorm modeGroupNorm => CellAffine(o, cells, ModeGroupNormAffine(o, modeGroupNorm, cells)),
            _ => throw new NotSupportedException($"ONNX export: {writer.Path} is a {layer.GetType().Name}, which the exporter has no ONNX form for."),
        };
    }

    /// <summary>Names of ONNX values: a mean and a variance, broadcastable to the cells they normalize.</summary>
    private readonly record struct Moments(string Mean, string Var);

    /// <summary>The cell moments [N, C, 1, 1] (mean, biased variance over H·W, two-pass) and x centred on the cell means.</summary>
    private sealed record Cells(string Mean, string Var, string Centred);

    private static Cells CellMoments(Ops o, string x)
    {
        var mean = o.ReduceMean(x, [2, 3], keep: true);
        var centred = o.Sub(x, mean);
        return new(mean, o.ReduceMean(o.Square(centred), [2, 3], keep: true), centred);
    }

    /// <summary>y = gamma·(x - mu)/sqrt(max(var, 0) + eps) + beta, with mu and var broadcastable to [N, C, 1, 1].</summary>
    private static string Normalize(Ops o, NormalizationLayer layer, string x, Moments normalizing)
    {
        var scale = o.Mul(o.Channels("gamma", layer.Weight, 1, 1), InverseStd(o, layer, normalizing.Var));
        return o.Add(o.Mul(o.Sub(x, normalizing.Mean), scale), o.Channels("beta", layer.Bias, 1, 1));
    }

    /// <summary>y = (x - m)·A + B for [N, C] tables A and B (the form of section 1, the cell affine).</summary>
    private static string CellAffine(Ops o, Cells cells, (string Scale, string Shift) affine) =>
        o.Add(o.Mul(cells.Centred, o.Reshape(affine.Scale, 0, -1, 1, 1)), o.Reshape(affine.Shift, 0, -1, 1, 1));

    private static string InverseStd(Ops o, NormalizationLayer layer, string var) =>
        o.Op("Reciprocal", o.Op("Sqrt", o.Add(o.Op("Relu", var), o.Scalar("eps", layer.Eps))));

    /// <summary>
    /// A pixel set's inference statistics per cell (PixelSetStatistics.Inference): the example's own over the set's part
    /// within the example, mixed with the running moments by alpha, spread over the set's channels.
    /// </summary>
    private static Moments SetInference(Ops o, PixelSetStatistics statistics, Cells cells, NormalizationLayer layer)
    {
        var set = statistics.Set.WithinExample;
        var channels = layer.Channels;
        var groups = set.GroupCount(channels);
        var alpha = layer.Alpha;
        if (statistics.IsFixedAtInference(alpha))
        {
            var running = statistics.RunningPerGroup(channels);
            return new(o.Channels("running_mean", PerChannel(running.Mean, channels), 1, 1), o.Channels("running_var", PerChannel(running.Var, channels), 1, 1));
        }
        // Per group of channels: [N, G, C/G] cells pooled into [N, G, 1] (Chan's combination, as Pool.Equal).
        string? grouped = null;
        var example = new Moments(cells.Mean, cells.Var);
        if (groups != channels)
        {
            grouped = o.Reshape(cells.Mean, 0, groups, -1);
            var mean = o.ReduceMean(grouped, [2], keep: true);
            var spread = o.Square(o.Sub(grouped, mean));
            example = new(mean, o.ReduceMean(o.Add(o.Reshape(cells.Var, 0, groups, -1), spread), [2], keep: true));
        }
        if (!statistics.UsesExampleAlone(alpha))
        {
            var running = statistics.RunningPerGroup(channels);
            long[] shape = groups == channels ? [channels, 1, 1] : [groups, 1];
            example = Mix(o, example, new(o.Floats("running_mean", running.Mean, shape), o.Floats("running_var", running.Var, shape)), alpha);
        }
        if (grouped is null) return example;
        var cellShape = o.Op("Shape", grouped);
        return new(o.Reshape(o.Op("Expand", example.Mean, cellShape), 0, channels, 1, 1), o.Reshape(o.Op("Expand", example.Var, cellShape), 0, channels, 1, 1));
    }

    // A [1, G] group table as [C]: each group's value for each of its channels.
    private static Tensor PerChannel(Tensor perGroup, long channels) => perGroup.reshape(-1).repeat_interleave(channels / perGroup.numel());

    /// <summary>Inference example weighing, alpha·example + (1 - alpha)·running in the sense of Pool.MixWithRunning.</summary>
    private static Moments Mix(Ops o, Moments example, Moments running, double alpha)
    {
        if (alpha == 1) return example;
        if (alpha == 0) return running;
        var mean = o.Add(o.Mul(example.Mean, o.Scalar("alpha", alpha)), o.Mul(running.Mean, o.Scalar("one_minus_alpha", 1 - alpha)));
        var var = o.Add(o.Add(o.Mul(example.Var, o.Scalar("alpha", alpha)), o.Mul(running.Var, o.Scalar("one_minus_alpha", 1 - alpha))),
                        o.Mul(o.Square(o.Sub(example.Mean, running.Mean)), o.Scalar("alpha_times_one_minus_alpha", alpha * (1 - alpha))));
        return new(mean, var);
    }

    /// <summary>SwitchableNorm: IN (unbiased), LN and BN moments mixed by the softmax of their logits.</summary>
    private static Moments Switchable(Ops o, SwitchableNorm layer, string x, Cells cells)
    {
        // H·W/(H·W - 1), from the input's shape.
        var pixels = o.Op("Cast", o.Op("ReduceProd", o.Op("Slice", o.Op("Shape", x), o.Int64s(2), o.Int64s(4)), ("keepdims", 0L)), ("to", 1L));
        var instance = new Moments(cells.Mean, o.Mul(cells.Var, o.Op("Div", pixels, o.Sub(pixels, o.Scalar("one", 1)))));
        var layerMean = o.ReduceMean(instance.Mean, [1], keep: true);
        var layerStats = new Moments(layerMean, o.ReduceMean(o.Add(instance.Var, o.Square(o.Sub(instance.Mean, layerMean))), [1], keep: true));
        var channels = layer.Channels;
        var running = new Moments(o.Floats("running_mean", layer.get_buffer("running_mean")!, channels, 1, 1),
                                  o.Floats("running_var", layer.get_buffer("running_var")!, channels, 1, 1));
        var batch = Mix(o, instance, running, layer.Alpha);
        using var meanWeights = softmax(layer.MeanLogits.detach().to(ScalarType.Float64), 0);
        using var varWeights = softmax(layer.VarLogits.detach().to(ScalarType.Float64), 0);
        return new(Weighted(o, "mean_weight", meanWeights, instance.Mean, layerStats.Mean, batch.Mean),
                   Weighted(o, "var_weight", varWeights, instance.Var, layerStats.Var, batch.Var));
    }

    private static string Weighted(Ops o, string name, Tensor weights, string instance, string layer, string batch)
    {
        var w = weights.data<double>().ToArray();
        return o.Add(o.Add(o.Mul(instance, o.Scalar(name, w[0])), o.Mul(layer, o.Scalar(name, w[1]))), o.Mul(batch, o.Scalar(name, w[2])));
    }

    /// <summary>ModeNorm's (A, B) [N, C]: gates softmax(W·m + b) over the modes, each mode's moments the running ones mixed with the example's.</summary>
    private static (string Scale, string Shift) ModeNormAffine(Ops o, ModeNorm layer, Cells cells)
    {
        var (modes, channels) = (layer.Modes, layer.Channels);
        var means = o.Reshape(cells.Mean, 0, channels);
        var gates = o.Reshape(o.Op("Softmax", o.Op("Gemm", means, o.Floats("gate_weight", layer.GateWeight), o.Floats("gate_bias", layer.GateBias), ("transB", 1L)),
                                   ("axis", 1L)), 0, modes, 1);
        using var runningMean = layer.get_buffer("running_mean")!.detach().clone();
        using var runningVar = (layer.get_buffer("running_mean_square")!.detach() - runningMean.square()).clamp(min: 0);
        var example = new Moments(o.Reshape(cells.Mean, 0, 1, channels), o.Reshape(cells.Var, 0, 1, channels));
        var perMode = Mix(o, example, new(o.Floats("running_mean", runningMean, modes, channels), o.Floats("running_var", runningVar, modes, channels)), layer.Alpha);
        var weighted = o.Mul(gates, InverseStd(o, layer, perMode.Var));
        var gamma = o.Floats("gamma", layer.Weight);
        var scale = o.Mul(o.ReduceSum(weighted, 1), gamma);
        var shift = o.Add(o.Mul(o.ReduceSum(o.Mul(weighted, o.Sub(example.Mean, perMode.Mean)), 1), gamma), o.Floats("beta", layer.Bias));
        return (scale, shift);
    }

    /// <summary>
    /// ModeGroupNorm's (A, B) [N, C]: per example, gates softmax_k(a_k·m[c] + b_k) pool the channels into the modes (the
    /// running moments pooled by the same weights where alpha &lt; 1), each mode's output weighed by 1/K or by the gates.
    /// </summary>
    private static (string Scale, string Shift) ModeGroupNormAffine(Ops o, ModeGroupNorm layer, Cells cells)
    {
        var (modes, channels) = (layer.Modes, layer.Channels);
        var means = o.Reshape(cells.Mean, 0, channels, 1);
        var logits = o.Add(o.Mul(means, o.Floats("gate_scale", layer.GateScale)), o.Floats("gate_shift", layer.GateShift));
        // Each mode's weights over the channels (softmax over C of the log-gates); each sums to 1 over the channels.
        var channelWeights = o.SoftmaxOverAxis1(o.Op("LogSoftmax", logits, ("axis", 2L)));
        var perMode = PoolChannels(o, channelWeights, means, o.Reshape(cells.Var, 0, channels, 1));
        if (layer.Alpha != 1)
        {
            var running = PoolChannels(o, channelWeights, o.Floats("running_mean", layer.get_buffer("running_mean")!, channels, 1),
                                       o.Floats("running_var", layer.get_buffer("running_var")!, channels, 1));
            perMode = Mix(o, perMode, running, layer.Alpha);
        }
        var modeWeights = layer.GateWeightedOutput ? o.Op("Softmax", logits, ("axis", 2L)) : o.Scalar("one_over_modes", 1.0 / modes);
        var weighted = o.Mul(modeWeights, InverseStd(o, layer, perMode.Var));
        var gamma = o.Floats("gamma", layer.Weight);
        var scale = o.Mul(o.ReduceSum(weighted, 2), gamma);
        var shift = o.Add(o.Mul(o.ReduceSum(o.Mul(weighted, o.Sub(means, perMode.Mean)), 2), gamma), o.Floats("beta", layer.Bias));
        return (scale, shift);
    }

    // [N, C, 1] moments pooled into [N, 1, K] by [N, C, K] channel weights that sum to 1 over C (Pool.Weighted).
    private static Moments PoolChannels(Ops o, string weights, string mean, string var)
    {
        var pooledMean = o.ReduceSum(o.Mul(weights, mean), 1, keep: true);
        return new(pooledMean, o.ReduceSum(o.Mul(weights, o.Add(var, o.Square(o.Sub(mean, pooledMean)))), 1, keep: true));
    }

    /// <summary>The ONNX operators the layers are written in, named after the layer's path.</summary>
    private sealed class Ops(OnnxGraph graph, string path)
    {
        public string Op(string type, string input, params (string Name, object Value)[] attributes) => graph.Node(type, path, input, attributes);
        public string Op(string type, string a, string b) => graph.Node(type, path, [a, b]);
        public string Op(string type, string a, string b, string c, params (string Name, object Value)[] attributes) => graph.Node(type, path, [a, b, c], attributes);
        public string Add(string a, string b) => Op("Add", a, b);
        public string Sub(string a, string b) => Op("Sub", a, b);
        public string Mul(string a, string b) => Op("Mul", a, b);
        public string Square(string a) => Op("Mul", a, a);
        public string ReduceMean(string x, long[] axes, bool keep) => graph.Node("ReduceMean", path, x, ("axes", axes), ("keepdims", keep ? 1L : 0L));
        public string ReduceSum(string x, long axis, bool keep = false) => graph.Node("ReduceSum", path, x, ("axes", new[] { axis }), ("keepdims", keep ? 1L : 0L));

        // Softmax over axis 1 of a 3D value. Opset 12's Softmax normalizes over all dimensions from its axis on, which is
        // one axis only when it is the last.
        public string SoftmaxOverAxis1(string x)
        {
            var exp = Op("Exp", Sub(x, graph.Node("ReduceMax", path, x, ("axes", new long[] { 1 }), ("keepdims", 1L))));
            return Op("Div", exp, ReduceSum(exp, 1, keep: true));
        }
        public string Reshape(string x, params long[] shape) => Op("Reshape", x, Int64s(shape));
        public string Int64s(params long[] values) => graph.Int64s(path + ".shape", values);
        public string Scalar(string name, double value) => graph.Scalar($"{path}.{name}", value);
        public string Floats(string name, Tensor values, params long[] shape) => graph.Floats($"{path}.{name}", values, shape);
        public string Channels(string name, Tensor values, params long[] trailing) => Floats(name, values, [values.numel(), .. trailing]);
    }
}
