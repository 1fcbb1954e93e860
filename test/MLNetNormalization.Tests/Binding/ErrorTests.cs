using MLNetNormalization.TorchBinding.NN;

namespace MLNetNormalization.Tests.Binding;

/// <summary>libtorch's errors come through as TorchException with its own message, and leave the process working.</summary>
public class ErrorTests
{
    /// <summary>Asserts the action fails with a TorchException carrying <paramref name="expected"/> and no C++ backtrace, then that libtorch still computes.</summary>
    private static void AssertLibtorchError(Action action, string expected)
    {
        var e = Assert.Throws<TorchException>(action);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain("frame #", e.Message);
        Assert.DoesNotContain("Exception raised from", e.Message);

        using var scope = Torch.NewDisposeScope();
        var a = TestData.Float64([1, 2, 3, 4], 2, 2);
        Expect.Close([7, 10, 15, 22], a.MatMul(a), 0);
    }

    [Fact]
    public void MatMulOfMismatchedShapes()
    {
        using var scope = Torch.NewDisposeScope();
        var a = Torch.Zeros([2, 3]);
        var b = Torch.Zeros([4, 5]);
        AssertLibtorchError(() => a.MatMul(b), "cannot be multiplied (2x3 and 4x5)");
    }

    [Fact]
    public void Conv2dWithTheWrongChannelCount()
    {
        using var scope = Torch.NewDisposeScope();
        var input = Torch.Zeros([1, 3, 5, 5]);
        var weight = Torch.Zeros([2, 4, 3, 3]);
        AssertLibtorchError(() => Functional.Conv2d(input, weight), "to have 4 channels, but got 3 channels instead");
    }

    [Fact]
    public void CrossEntropyWithFloatTargets()
    {
        using var scope = Torch.NewDisposeScope();
        var logits = Torch.Zeros([3, 4]);
        var targets = Torch.Zeros([3]);
        AssertLibtorchError(() => Functional.CrossEntropy(logits, targets), "expected scalar type Long but found Float");
    }

    [Fact]
    public void ViewOfAnIncompatibleShape()
    {
        using var scope = Torch.NewDisposeScope();
        var x = Torch.Zeros([2, 3]);
        AssertLibtorchError(() => x.View(4), "shape '[4]' is invalid for input of size 6");
        // A view of a transposed tensor across its strides is impossible; Reshape copies instead.
        var transposed = x.Transpose(0, 1);
        AssertLibtorchError(() => transposed.View(6), "view size is not compatible");
        Assert.Equal([6L], transposed.Reshape(6).Shape);
    }

    [Fact]
    public void CatOfMismatchedShapes()
    {
        using var scope = Torch.NewDisposeScope();
        var a = Torch.Zeros([2, 3]);
        var b = Torch.Zeros([2, 4]);
        AssertLibtorchError(() => Torch.Cat([a, b]), "Sizes of tensors must match except in dimension 0");
    }

    [Fact]
    public void BroadcastOfIncompatibleShapesAndInPlaceResize()
    {
        using var scope = Torch.NewDisposeScope();
        var a = Torch.Zeros([2, 3]);
        AssertLibtorchError(() => a.Add(Torch.Zeros([4])), "must match the size of tensor b (4)");
        var row = Torch.Zeros([3]);
        AssertLibtorchError(() => row.AddInPlace(a), "doesn't match the broadcast shape");
    }

    [Fact]
    public void ClampWithoutBounds()
    {
        using var scope = Torch.NewDisposeScope();
        AssertLibtorchError(() => Torch.Zeros([2]).Clamp(), "At least one of 'min' or 'max' must not be None");
    }

    [Fact]
    public void ErrorsOnOneThreadDoNotLeakIntoAnother()
    {
        using var scope = Torch.NewDisposeScope();
        string? otherMessage = null;
        var thread = new Thread(() =>
        {
            using var threadScope = Torch.NewDisposeScope();
            otherMessage = Assert.Throws<TorchException>(() => Torch.Zeros([2]).View(3)).Message;
        });
        var mine = Assert.Throws<TorchException>(() => Torch.Zeros([2, 3]).MatMul(Torch.Zeros([2, 3])));
        thread.Start();
        thread.Join();
        Assert.Contains("cannot be multiplied", mine.Message);
        Assert.Contains("shape '[3]' is invalid", otherMessage);
    }

    [Fact]
    public void UsingADisposedTensorThrowsObjectDisposedException()
    {
        using var scope = Torch.NewDisposeScope();
        var disposed = Torch.Ones([2]);
        var alive = Torch.Ones([2]);
        disposed.Dispose();
        Assert.True(disposed.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => disposed.Shape);
        Assert.Throws<ObjectDisposedException>(() => disposed.ToArray<float>());
        Assert.Throws<ObjectDisposedException>(() => alive + disposed);
        Assert.Throws<ObjectDisposedException>(() => Torch.Cat([alive, disposed]));
        disposed.Dispose();   // a second dispose is harmless

        Tensor fromScope;
        using (Torch.NewDisposeScope()) fromScope = Torch.Zeros([1]);
        var e = Assert.Throws<ObjectDisposedException>(() => fromScope.Sum());
        Assert.Contains("dispose scope", e.Message);
        Assert.Equal([2f, 2], (alive + alive).ToArray<float>());
    }

    [Fact]
    public void UsingADisposedGeneratorThrowsObjectDisposedException()
    {
        var generator = new Generator(1);
        generator.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Torch.Rand([1], generator));
    }

    [Fact]
    public void FromSpanWithTheWrongElementCountThrowsArgumentException()
    {
        using var scope = Torch.NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => Tensor.FromArray(new float[6], 2, 2));
        Assert.Equal("shape", e.ParamName);
        Assert.Contains("holds 4 elements but the data has 6", e.Message);
        Assert.Throws<ArgumentException>(() => Tensor.FromSpan<double>(new double[3], [4]));
        Assert.Throws<ArgumentException>(() => Tensor.FromSpan<double>(new double[2], []));
    }

    [Fact]
    public void AnUnsupportedElementTypeIsNamed()
    {
        using var scope = Torch.NewDisposeScope();
        var e = Assert.Throws<NotSupportedException>(() => Tensor.FromArray(new short[] { 1, 2 }));
        Assert.Contains("Int16", e.Message);
    }

    [Fact]
    public void AMissingShimNamesTheSetupScript()
    {
        var e = Assert.Throws<DllNotFoundException>(() => NativeLibraryLoader.Load("/nonexistent/libmlnorm_shim.so"));
        Assert.Contains("/nonexistent/libmlnorm_shim.so", e.Message);
        Assert.Contains("scripts/setup.sh", e.Message);
    }

    [Fact]
    public void AShimThatCannotBeLoadedNamesTheSetupScript()
    {
        using var directory = new TempDirectory();
        var path = directory.File("libmlnorm_shim.so");
        File.WriteAllText(path, "not an ELF file");
        var e = Assert.Throws<DllNotFoundException>(() => NativeLibraryLoader.Load(path));
        Assert.Contains("could not be loaded", e.Message);
        Assert.Contains("scripts/setup.sh", e.Message);
    }

    [Fact]
    public void TheRealShimLoadsAndReportsItsLibtorchVersion()
    {
        var path = NativeLibraryLoader.ShimPath(typeof(Tensor).Assembly);
        Assert.True(File.Exists(path), path);
        Assert.NotEqual(IntPtr.Zero, NativeLibraryLoader.Load(path));
        Assert.Matches(@"^\d+\.\d+", Torch.Version);
    }
}
