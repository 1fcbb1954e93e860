using MLNetNormalization.TorchBinding.NN;
using MLNetNormalization.TorchBinding.Optim;

namespace MLNetNormalization.Tests.Binding;

/// <summary>
/// Module naming, modes, lifetime, initialisation, and saving and loading state. Modules initialise
/// from the global generator, hence the collection.
/// </summary>
[Collection(TestCollections.GlobalRandom)]
public class ModuleTests
{
    private static Sequential ConvBatchNorm() => new(new Conv2d(1, 2, 3), new BatchNorm2d(2));

    /// <summary>Conv, batch norm, ReLU, pooling and a linear head: parameters and buffers at two depths.</summary>
    private static Sequential SmallNet() =>
        new Sequential(new Conv2d(1, 4, 3, padding: 1), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2), new Flatten())
            .Append(new Sequential(new Linear(4 * 4 * 4, 8), new ReLU()).Append(new Linear(8, 3), "out"), "head");

    [Fact]
    public void SequentialNamesMembersByPosition()
    {
        Torch.ManualSeed(130);
        using var scope = Torch.NewDisposeScope();
        using var model = ConvBatchNorm();
        Assert.Equal(["0.weight", "0.bias", "1.weight", "1.bias"], model.NamedParameters().Select(p => p.Name));
        Assert.Equal(["1.running_mean", "1.running_var"], model.NamedBuffers().Select(b => b.Name));
        Assert.Equal(["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var"], model.State().Select(s => s.Name));
        Assert.All(model.Parameters(), p => Assert.True(p.RequiresGrad));
        Assert.All(model.NamedBuffers(), b => Assert.False(b.Buffer.RequiresGrad));
        Assert.Equal([2L, 1, 3, 3], model.NamedParameters().First().Parameter.Shape);
    }

    [Fact]
    public void NestedModulesGetDottedNames()
    {
        Torch.ManualSeed(131);
        using var scope = Torch.NewDisposeScope();
        using var model = SmallNet();
        Assert.Equal(
            ["0.weight", "0.bias", "1.weight", "1.bias", "head.0.weight", "head.0.bias", "head.out.weight", "head.out.bias"],
            model.NamedParameters().Select(p => p.Name));
        Assert.Equal(["", "0", "1", "2", "3", "4", "head", "head.0", "head.1", "head.out"], model.NamedModules().Select(m => m.Name));
        Assert.Equal(["0", "1", "2", "3", "4", "head"], model.NamedChildren().Select(c => c.Name));
    }

    [Fact]
    public void TrainAndEvalReachEveryDescendant()
    {
        Torch.ManualSeed(132);
        using var model = SmallNet();
        Assert.All(model.NamedModules(), m => Assert.True(m.Module.IsTraining));
        Assert.Same(model, model.Eval());
        Assert.All(model.NamedModules(), m => Assert.False(m.Module.IsTraining));
        model.Train();
        Assert.All(model.NamedModules(), m => Assert.True(m.Module.IsTraining));
        model.NamedChildren().Last().Module.Eval();
        Assert.True(model.IsTraining);
        Assert.False(model.NamedModules().Single(m => m.Name == "head.out").Module.IsTraining);
    }

    [Fact]
    public void ParametersOutliveTheScopeTheModuleWasCreatedIn()
    {
        Torch.ManualSeed(133);
        Linear linear;
        Tensor temporary;
        using (Torch.NewDisposeScope())
        {
            linear = new Linear(3, 2);
            temporary = Torch.Zeros([1]);
        }
        using var owned = linear;
        Assert.True(temporary.IsDisposed);
        Assert.False(linear.Weight.IsDisposed);
        Assert.False(linear.Bias!.IsDisposed);

        using var scope = Torch.NewDisposeScope();
        var x = TestData.Float32([1, 2, 3], 1, 3);
        var w = TestData.Values(linear.Weight);
        var b = TestData.Values(linear.Bias);
        Expect.Close([w[0] + 2 * w[1] + 3 * w[2] + b[0], w[3] + 2 * w[4] + 3 * w[5] + b[1]], linear.Forward(x), 1e-6, 1e-6, [1, 2]);
    }

    [Fact]
    public void DefaultInitialisationIsUniformWithinOneOverRootFanIn()
    {
        Torch.ManualSeed(134);
        using var scope = Torch.NewDisposeScope();
        using var conv = new Conv2d(3, 16, 3, groups: 1);
        using var linear = new Linear(50, 40);
        using var noBias = new Linear(4, 2, bias: false);
        Assert.Null(noBias.Bias);
        Assert.Single(noBias.Parameters());
        CheckUniform(TestData.Values(conv.Weight), 1 / Math.Sqrt(27));
        CheckUniform(TestData.Values(conv.Bias!), 1 / Math.Sqrt(27));
        CheckUniform(TestData.Values(linear.Weight), 1 / Math.Sqrt(50));

        static void CheckUniform(double[] values, double bound)
        {
            Assert.All(values, v => Assert.InRange(v, -bound, bound));
            // Spread over the interval, not bunched: both outer quarters are used.
            Assert.Contains(values, v => v > bound / 2);
            Assert.Contains(values, v => v < -bound / 2);
        }
    }

    [Fact]
    public void GroupedConvolutionWeightsHaveInputChannelsPerGroup()
    {
        Torch.ManualSeed(135);
        using var conv = new Conv2d(4, 6, 3, groups: 2, bias: false);
        Assert.Equal([6L, 2, 3, 3], conv.Weight.Shape);
        Assert.Null(conv.Bias);
        var e = Assert.Throws<ArgumentException>(() => new Conv2d(3, 6, 3, groups: 2));
        Assert.Contains("divisible by groups", e.Message);
    }

    private sealed class Custom : Module
    {
        public Custom(string first, string second)
        {
            RegisterParameter(first, Torch.Zeros([1]));
            RegisterBuffer(second, Torch.Zeros([1]));
        }

        public override Tensor Forward(Tensor input) => input;
    }

    /// <summary>A parameter, a plain buffer and a float64 buffer registered to keep its type.</summary>
    private sealed class WithStatistics : Module
    {
        public WithStatistics()
        {
            Weight = RegisterParameter("weight", Torch.Ones([2]));
            Plain = RegisterBuffer("plain", Torch.Ones([2]));
            Statistic = RegisterBuffer("statistic", TestData.Float64([1e4 + 1e-6, 2], 2), keepType: true);
        }

        public Tensor Weight { get; }
        public Tensor Plain { get; }
        public Tensor Statistic { get; }

        public override Tensor Forward(Tensor input) => input;
    }

    [Fact]
    public void ATypeConversionLeavesABufferOfFixedTypeAsItIs()
    {
        using var scope = Torch.NewDisposeScope();
        using var module = new WithStatistics();
        module.To(ScalarType.Float64);
        Assert.Equal((ScalarType.Float64, ScalarType.Float64), (module.Weight.Type, module.Plain.Type));
        module.To(ScalarType.Float32);
        Assert.Equal((ScalarType.Float32, ScalarType.Float32), (module.Weight.Type, module.Plain.Type));
        Assert.Equal(ScalarType.Float64, module.Statistic.Type);
        // Not rounded through float32 on the way either (1e4 + 1e-6 has no float32 representation).
        Assert.Equal([1e4 + 1e-6, 2], module.Statistic.ToArray<double>());
        Assert.Same(module.Statistic, module.NamedBuffers().Single(b => b.Name == "statistic").Buffer);

        using var directory = new TempDirectory();
        var path = directory.File("statistics.bin");
        module.Save(path);
        using var loaded = new WithStatistics();
        loaded.To(ScalarType.Float32);
        loaded.Statistic.Fill(0);   // so that only the load can restore it
        loaded.Load(path);
        Assert.Equal(TestData.RawBytes(module.Statistic), TestData.RawBytes(loaded.Statistic));
    }

    /// <summary>Three linear children, "a", "b", "c", the middle one replaceable.</summary>
    private sealed class ThreeChildren : Module
    {
        public ThreeChildren()
        {
            RegisterModule("a", new Linear(2, 2));
            RegisterModule("b", new Linear(2, 3));
            RegisterModule("c", new Linear(3, 1, bias: false));
        }

        public void Replace(string name, Module replacement) => ReplaceModule(name, replacement);

        public override Tensor Forward(Tensor input) => input;
    }

    [Fact]
    public void ReplaceModuleKeepsThePositionAndLeavesTheOldChildToTheCaller()
    {
        Torch.ManualSeed(144);
        using var scope = Torch.NewDisposeScope();
        using var model = new ThreeChildren();
        var old = (Linear)model.NamedChildren().ElementAt(1).Module;
        using var replacement = new Sequential(new Linear(2, 3, bias: false));

        model.Replace("b", replacement);

        Assert.Equal(["a", "b", "c"], model.NamedChildren().Select(c => c.Name));
        Assert.Same(replacement, model.NamedChildren().ElementAt(1).Module);
        Assert.Equal(["a.weight", "a.bias", "b.0.weight", "c.weight"], model.NamedParameters().Select(p => p.Name));
        // The model no longer owns the old child and did not dispose it: the caller does.
        Assert.False(old.Weight.IsDisposed);
        Assert.DoesNotContain(model.Parameters(), p => ReferenceEquals(p, old.Weight));
        old.Dispose();

        var e = Assert.Throws<ArgumentException>(() => model.Replace("d", new ReLU()));
        Assert.Contains("ThreeChildren has no child module named 'd' to replace; its children are [a, b, c]", e.Message);
        Assert.Throws<ArgumentNullException>(() => model.Replace("a", null!));
    }

    [Fact]
    public void ConvolutionFromWeightsCopiesThemKeepsItsOptionsAndDrawsNoRandomNumbers()
    {
        using var scope = Torch.NewDisposeScope();
        var weight = TestData.Float64(TestData.Uniform(145, 4 * 2 * 3 * 3), 4, 2, 3, 3);
        var bias = TestData.Float64(TestData.Uniform(146, 4), 4);
        var randomState = TestData.RawBytes(Torch.GetRngState());

        using var conv = Conv2d.FromWeights(weight, bias, stride: 2, padding: 1, dilation: 2, groups: 2);

        Assert.Equal(randomState, TestData.RawBytes(Torch.GetRngState()));
        Assert.Equal((2L, 1L, 2L, 2L), (conv.Stride, conv.Padding, conv.Dilation, conv.Groups));
        Assert.Equal(TestData.RawBytes(weight), TestData.RawBytes(conv.Weight));
        Assert.Equal(TestData.RawBytes(bias), TestData.RawBytes(conv.Bias!));
        Assert.False(ReferenceEquals(weight, conv.Weight));
        Assert.All(conv.Parameters(), p => Assert.True(p.RequiresGrad && p.IsLeaf));
        var x = TestData.Float64(TestData.Uniform(147, 2 * 4 * 7 * 7), 2, 4, 7, 7);
        Assert.True(conv.Forward(x).Equal(Functional.Conv2d(x, weight, bias, (2, 2), (1, 1), (2, 2), 2)));

        Assert.Contains("square kernel", Assert.Throws<ArgumentException>(() => Conv2d.FromWeights(Torch.Zeros([4, 2, 3, 2]), null)).Message);
        Assert.Contains("divisible by groups (3)", Assert.Throws<ArgumentException>(() => Conv2d.FromWeights(Torch.Zeros([4, 2, 3, 3]), null, groups: 3)).Message);
        Assert.Contains("the bias must be a [4] Float32 tensor", Assert.Throws<ArgumentException>(() => Conv2d.FromWeights(Torch.Zeros([4, 2, 3, 3]), Torch.Zeros([4], ScalarType.Float64))).Message);
    }

    [Fact]
    public void MemberNamesMustBeUniqueAndDotless()
    {
        using var scope = Torch.NewDisposeScope();
        Assert.Contains("already has a member named 'w'", Assert.Throws<ArgumentException>(() => new Custom("w", "w")).Message);
        Assert.Contains("not a valid member name", Assert.Throws<ArgumentException>(() => new Custom("a.b", "c")).Message);
        Assert.Throws<ArgumentException>(() => new Custom("", "c"));
        using var fine = new Custom("w", "stat");
        Assert.Equal(["w", "stat"], fine.State().Select(s => s.Name));
    }

    /// <summary>A few SGD steps on seeded random data, so parameters and running statistics move off their initial values.</summary>
    private static void Train(Module model, int steps)
    {
        using var generator = new Generator(136);
        using var sgd = new SGD(model.Parameters(), 0.05, momentum: 0.9);
        for (var step = 0; step < steps; step++)
        {
            using var scope = Torch.NewDisposeScope();
            var x = Torch.Randn([8, 1, 8, 8], generator);
            var y = Torch.RandInt(0, 3, [8], generator);
            sgd.ZeroGrad();
            Functional.CrossEntropy(model.Forward(x), y).Backward();
            sgd.Step();
        }
    }

    [Fact]
    public void SaveThenLoadIntoAFreshModuleRestoresEveryBit()
    {
        using var directory = new TempDirectory();
        var path = directory.File("model.bin");
        Torch.ManualSeed(137);
        using var trained = SmallNet();
        Train(trained, 3);
        trained.Save(path);

        Torch.ManualSeed(138);
        using var fresh = SmallNet();
        var trainedState = trained.State();
        var freshState = fresh.State();
        Assert.Contains(Enumerable.Range(0, trainedState.Count), i => !TestData.RawBytes(trainedState[i].Value).SequenceEqual(TestData.RawBytes(freshState[i].Value)));
        // Training moved the running statistics too.
        Assert.NotEqual(new float[4], trained.NamedBuffers().First().Buffer.ToArray<float>());

        fresh.Load(path);
        for (var i = 0; i < trainedState.Count; i++)
        {
            Assert.Equal(trainedState[i].Name, freshState[i].Name);
            Assert.True(TestData.RawBytes(trainedState[i].Value).SequenceEqual(TestData.RawBytes(freshState[i].Value)), $"{freshState[i].Name} differs after loading");
        }
        Assert.All(fresh.Parameters(), p => Assert.True(p.RequiresGrad && p.IsLeaf));

        using var scope = Torch.NewDisposeScope();
        using var generator = new Generator(139);
        var x = Torch.Randn([4, 1, 8, 8], generator);
        trained.Eval();
        fresh.Eval();
        Assert.True(trained.Forward(x).Equal(fresh.Forward(x)));
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(directory.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void LoadStateRejectsMissingAndUnexpectedNames()
    {
        Torch.ManualSeed(140);
        using var scope = Torch.NewDisposeScope();
        using var model = ConvBatchNorm();
        var state = model.State().ToDictionary(s => s.Name, s => s.Value.Clone());

        var withoutOne = new Dictionary<string, Tensor>(state);
        withoutOne.Remove("1.running_var");
        var missing = Assert.Throws<InvalidDataException>(() => model.LoadState(withoutOne));
        Assert.Contains("missing [1.running_var]", missing.Message);

        var withExtra = new Dictionary<string, Tensor>(state) { ["2.weight"] = Torch.Zeros([1]) };
        var unexpected = Assert.Throws<InvalidDataException>(() => model.LoadState(withExtra));
        Assert.Contains("unexpected [2.weight]", unexpected.Message);
    }

    [Fact]
    public void LoadStateRejectsAWrongShapeOrTypeAndChangesNothing()
    {
        Torch.ManualSeed(141);
        using var scope = Torch.NewDisposeScope();
        using var model = ConvBatchNorm();
        var before = model.State().Select(s => TestData.RawBytes(s.Value)).ToList();
        var state = model.State().ToDictionary(s => s.Name, s => s.Value.Clone().Fill(3));

        state["0.weight"] = Torch.Zeros([2, 1, 3, 4]);
        var shape = Assert.Throws<InvalidDataException>(() => model.LoadState(state));
        Assert.Contains("'0.weight'", shape.Message);
        Assert.Contains("[2, 1, 3, 4]", shape.Message);

        state["0.weight"] = Torch.Zeros([2, 1, 3, 3], ScalarType.Float64);
        var type = Assert.Throws<InvalidDataException>(() => model.LoadState(state));
        Assert.Contains("'0.weight' is Float64", type.Message);

        // Nothing was copied by the failed loads, not even the entries that did fit.
        Assert.Equal(before, model.State().Select(s => TestData.RawBytes(s.Value)));
    }

    [Fact]
    public void LoadingAFileOfAnotherArchitectureNamesTheMismatch()
    {
        using var directory = new TempDirectory();
        var path = directory.File("other.bin");
        Torch.ManualSeed(142);
        using (var other = new Sequential().Append(new Linear(3, 2), "fc"))
            other.Save(path);
        using var model = ConvBatchNorm();
        var e = Assert.Throws<InvalidDataException>(() => model.Load(path));
        Assert.Contains("missing [0.weight, 0.bias, 1.weight, 1.bias, 1.running_mean, 1.running_var]", e.Message);
        Assert.Contains("unexpected [fc.weight, fc.bias]", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void LoadingADamagedFileNamesItAndChangesNothing()
    {
        using var directory = new TempDirectory();
        var path = directory.File("model.bin");
        Torch.ManualSeed(143);
        using (var saved = ConvBatchNorm()) saved.Save(path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^10]);

        using var model = ConvBatchNorm();
        var before = model.State().Select(s => TestData.RawBytes(s.Value)).ToList();
        var e = Assert.Throws<InvalidDataException>(() => model.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Equal(before, model.State().Select(s => TestData.RawBytes(s.Value)));
        Assert.Throws<FileNotFoundException>(() => model.Load(directory.File("absent.bin")));
    }
}
