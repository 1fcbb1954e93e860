using MLNetNormalization.Tests.Support;

namespace MLNetNormalization.Tests.Pipeline;

/// <summary>
/// The OwnBackbone sample as a user runs it: one process trains its squeeze-and-excitation network (defined in the
/// sample, registered by name) with mn:k=2 through an ML.NET pipeline and saves it; a second process registers the same
/// factory, loads the model and scores the test images with the same metrics, to the last digit printed.
/// </summary>
public sealed class OwnBackboneSampleTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void TheSampleTrainsSavesAndAnotherProcessLoadsAndScoresAlike()
    {
        var model = temp.File("se-resnet.zip");
        var trained = Run("train", "--model", model, "--train-images", "2000", "--epochs", "1");
        var scored = Run("score", "--model", model);
        Assert.Contains($"loaded {model}", scored);
        var results = Results(trained);
        Assert.StartsWith("test: MicroAccuracy ", results[0]);
        Assert.Equal(4, results.Count);   // the metrics and three images' class probabilities
        Assert.Equal(results, Results(scored));
    }

    private static List<string> Results(string output) =>
        [.. output.Split('\n').Where(l => l.StartsWith("test", StringComparison.Ordinal)).Select(l => l.TrimEnd())];

    private static string Run(params string[] arguments)
    {
        var (code, output, error) = DotnetApp.Run(Path.Combine(AppContext.BaseDirectory, "OwnBackbone.dll"), arguments, TimeSpan.FromMinutes(5));
        Assert.True(code == 0, $"OwnBackbone {string.Join(' ', arguments)} exited with {code}:\n{output}\n{error}");
        return output;
    }
}
