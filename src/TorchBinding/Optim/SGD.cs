namespace MLNetNormalization.TorchBinding.Optim;

/// <summary>
/// Stochastic gradient descent with momentum, Nesterov momentum, weight decay and parameter groups,
/// with PyTorch's update rule (one native call per group):
/// d = g + wd·p; buf = d on the first step, then momentum·buf + (1 - dampening)·d;
/// d = d + momentum·buf (Nesterov) or buf; p = p - lr·d.
/// </summary>
public sealed unsafe class SGD : IDisposable
{
    private readonly ParameterGroup[] groups;
    private readonly IntPtr[][] momentumBuffers;

    public SGD(IEnumerable<Tensor> parameters, double learningRate, double momentum = 0, double dampening = 0,
               double weightDecay = 0, bool nesterov = false)
        : this([new ParameterGroup(parameters, learningRate, momentum, dampening, weightDecay, nesterov)])
    {
    }

    public SGD(IEnumerable<ParameterGroup> parameterGroups)
    {
        groups = parameterGroups.ToArray();
        if (groups.Length == 0) throw new ArgumentException("SGD needs at least one parameter group.", nameof(parameterGroups));
        var all = groups.SelectMany(g => g.Parameters).ToList();
        if (all.Distinct(ReferenceEqualityComparer.Instance).Count() != all.Count)
            throw new ArgumentException("A parameter appears in more than one group (or twice in one); give each parameter to exactly one group.", nameof(parameterGroups));
        momentumBuffers = groups.Select(g => new IntPtr[g.Parameters.Count]).ToArray();
    }

    public IReadOnlyList<ParameterGroup> Groups => groups;

    /// <summary>Updates every parameter that has a gradient.</summary>
    public void Step()
    {
        for (var g = 0; g < groups.Length; g++)
        {
            var group = groups[g];
            var handles = group.Parameters.Select(p => p.Handle).ToArray();
            fixed (IntPtr* parameters = handles)
            fixed (IntPtr* buffers = momentumBuffers[g])
                Native.Check(Native.mln_sgd_step(parameters, buffers, handles.Length, group.LearningRate, group.Momentum,
                    group.Dampening, group.WeightDecay, group.Nesterov ? 1 : 0));
        }
    }

    /// <summary>Drops every parameter's gradient (the next backward starts from none).</summary>
    public void ZeroGrad()
    {
        var handles = groups.SelectMany(g => g.Parameters).Select(p => p.Handle).ToArray();
        fixed (IntPtr* h = handles) Native.Check(Native.mln_clear_grads(h, handles.Length));
    }

    /// <summary>The momentum buffer of a parameter (a copy), or null before its first step.</summary>
    public Tensor? MomentumBuffer(int group, int parameter)
    {
        var buffer = momentumBuffers[group][parameter];
        return buffer == IntPtr.Zero ? null : new Tensor(Native.mln_clone(buffer));
    }

    /// <summary>Restores a momentum buffer (for resuming from a checkpoint).</summary>
    public void SetMomentumBuffer(int group, int parameter, Tensor value)
    {
        var shape = groups[group].Parameters[parameter].Shape;
        if (!value.Shape.SequenceEqual(shape))
            throw new ArgumentException($"The momentum buffer must have the parameter's shape [{string.Join(", ", shape)}], got [{string.Join(", ", value.Shape)}].", nameof(value));
        var copy = Native.Check(Native.mln_clone(value.Handle));
        var old = momentumBuffers[group][parameter];
        momentumBuffers[group][parameter] = copy;
        if (old != IntPtr.Zero) Native.mln_tensor_free(old);
    }

    public void Dispose()
    {
        foreach (var buffers in momentumBuffers)
            for (var i = 0; i < buffers.Length; i++)
            {
                if (buffers[i] != IntPtr.Zero) Native.mln_tensor_free(buffers[i]);
                buffers[i] = IntPtr.Zero;
            }
    }
}
