using System.Globalization;
using Google.Protobuf;
using Onnx;

namespace MLNetNormalization.Tool.Tests;

/// <summary>
/// model.onnx from mlnorm: train writes it, export writes the same file from model.zip, predict scores it as it scores
/// model.zip, the consume-onnx project builds with ML.NET's packages alone and agrees, and a damaged or foreign ONNX file
/// is refused with exit code 2.
/// </summary>
[Collection(ToolCollection.Name)]
public sealed class OnnxToolTests(ToolFixture fixture)
{
    private string OnnxPath => Path.Combine(fixture.TrainOutput, "model.onnx");

    [Fact]
    public void PredictScoresModelOnnxAsModelZip() =>
        AssertSamePredictions(ToolFixture.RunCli(["predict", "--model", fixture.ModelPath, .. fixture.SampleImages]),
                              ToolFixture.RunCli(["predict", "--model", OnnxPath, .. fixture.SampleImages]));

    [Fact]
    public void ExportWritesTheModelOnnxThatTrainWrote()
    {
        var target = Path.Combine(fixture.Root, $"export-{Guid.NewGuid():N}.onnx");
        var (code, stdout, stderr) = ToolFixture.RunCli("export", "--model", fixture.ModelPath, "--onnx", target);
        Assert.True(code == 0, stderr);
        Assert.Contains($"wrote {target} (", stdout);
        Assert.Contains("opset 12): Features [N, 1, 28, 28] (pixels standardized as for model.zip) to Score [N, 10] and PredictedLabel [N]", stdout);
        Assert.Equal(File.ReadAllBytes(OnnxPath), File.ReadAllBytes(target));
        Assert.False(File.Exists(target + ".tmp"));
    }

    [Fact]
    public void ADamagedOrForeignOnnxFileIsRefusedWithExitCode2()
    {
        var damaged = Path.Combine(fixture.Root, $"damaged-{Guid.NewGuid():N}.onnx");
        var bytes = File.ReadAllBytes(OnnxPath);
        // A weight's byte changed: still a valid protobuf message, but not the graph that was written.
        var model = ModelProto.Parser.ParseFrom(bytes);
        var weights = model.Graph.Initializer.First(i => i.RawData.Length > 1000);
        var changed = weights.RawData.ToByteArray();
        changed[changed.Length / 2] ^= 0x40;
        weights.RawData = ByteString.CopyFrom(changed);
        File.WriteAllBytes(damaged, model.ToByteArray());
        AssertRefused(damaged, "is damaged: its content does not match the checksum written with it; export it again with mlnorm export");

        // A class name changed: the metadata is sealed too, so the labels cannot go wrong silently.
        var renamed = Path.Combine(fixture.Root, $"renamed-{Guid.NewGuid():N}.onnx");
        var relabelled = ModelProto.Parser.ParseFrom(bytes);
        var names = relabelled.MetadataProps.Single(p => p.Key == "class_names");
        names.Value = names.Value.Replace("Coat", "Goat", StringComparison.Ordinal);
        File.WriteAllBytes(renamed, relabelled.ToByteArray());
        AssertRefused(renamed, "is damaged: its content does not match the checksum written with it");

        var empty = Path.Combine(fixture.Root, $"empty-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(empty, []);
        AssertRefused(empty, "is empty; pass the model.onnx that mlnorm train, sweep or export wrote.");

        var truncated = Path.Combine(fixture.Root, $"truncated-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        AssertRefused(truncated, "is not an ONNX model (");

        var foreign = Path.Combine(fixture.Root, $"foreign-{Guid.NewGuid():N}.onnx");
        var identity = new ModelProto { IrVersion = 7, Graph = new GraphProto { Name = "identity" } };
        identity.OpsetImport.Add(new OperatorSetIdProto { Version = 12 });
        identity.Graph.Node.Add(new NodeProto { OpType = "Identity", Input = { "x" }, Output = { "y" } });
        identity.Graph.Input.Add(new ValueInfoProto { Name = "x" });
        identity.Graph.Output.Add(new ValueInfoProto { Name = "y" });
        File.WriteAllBytes(foreign, identity.ToByteArray());
        AssertRefused(foreign, "is an ONNX model, but not an image classifier mlnorm wrote (Features in; Score and PredictedLabel out; class names)");

        var zip = Path.Combine(fixture.Root, $"zip-{Guid.NewGuid():N}.onnx");
        File.Copy(fixture.ModelPath, zip);
        AssertRefused(zip, "is not an ONNX model (");
    }

    [Fact]
    public void ExportRefusesAFolderTargetAndAnOnnxModel()
    {
        var folder = Directory.CreateDirectory(Path.Combine(fixture.Root, $"folder-{Guid.NewGuid():N}.onnx")).FullName;
        var (code, _, stderr) = ToolFixture.RunCli("export", "--model", fixture.ModelPath, "--onnx", folder);
        Assert.Equal(2, code);
        Assert.Contains($"--onnx {folder} is a folder; name the file to write, such as {Path.Combine(folder, "model.onnx")}.", stderr);

        (code, _, stderr) = ToolFixture.RunCli("export", "--model", OnnxPath, "--onnx", Path.Combine(fixture.Root, "again.onnx"));
        Assert.Equal(2, code);
        Assert.Contains($"--model {OnnxPath} is an ONNX model already; export takes the model.zip that mlnorm train or sweep wrote.", stderr);
    }

    [Fact]
    public void TheOnnxConsumptionProjectBuildsWithoutTorchSharpAndPredictsAsTheToolDoes()
    {
        var copy = Path.Combine(fixture.Root, $"onnx-consumer-{Guid.NewGuid():N}");
        ToolFixture.CopyFolder(Path.Combine(fixture.TrainOutput, "consume-onnx"), Path.Combine(copy, "consume-onnx"));
        File.Copy(OnnxPath, Path.Combine(copy, "model.onnx"));
        var project = Path.Combine(copy, "consume-onnx");
        var csproj = File.ReadAllText(Path.Combine(project, "MLNormOnnxConsumer.csproj"));
        Assert.DoesNotContain("TorchSharp", csproj);
        Assert.DoesNotContain("MLNetNormalization", csproj);

        var output = ToolFixture.BuildWrittenProject(copy, project);
        Assert.Empty(Directory.GetFiles(output, "*orch*", SearchOption.AllDirectories));
        var images = fixture.SampleImages;
        var run = ToolFixture.RunProcess(ToolFixture.Dotnet, [Path.Combine(output, "MLNormOnnxConsumer.dll"), .. images], project, TimeSpan.FromMinutes(3));
        Assert.True(run.Code == 0, $"the ONNX consumer failed:\n{run.Stdout}\n{run.Stderr}");
        AssertSamePredictions(ToolFixture.RunCli(["predict", "--model", fixture.ModelPath, .. images]), (run.Code, run.Stdout, run.Stderr));
    }

    /// <summary>The same images, classes and probabilities (within 1e-4) in two predict outputs.</summary>
    internal static void AssertSamePredictions((int Code, string Stdout, string Stderr) expected, (int Code, string Stdout, string Stderr) actual)
    {
        Assert.True(expected.Code == 0, expected.Stderr);
        Assert.True(actual.Code == 0, actual.Stderr);
        var (want, got) = (Parse(expected.Stdout), Parse(actual.Stdout));
        Assert.NotEmpty(want);
        Assert.Equal(want.Count, got.Count);
        for (var i = 0; i < want.Count; i++)
        {
            Assert.Equal(want[i].Path, got[i].Path);
            Assert.Equal(want[i].Label, got[i].Label);
            Assert.True(Math.Abs(want[i].Probability - got[i].Probability) <= 1e-4, $"{want[i].Path}: {want[i].Probability} and {got[i].Probability}");
        }
    }

    private void AssertRefused(string path, string message)
    {
        var (code, stdout, stderr) = ToolFixture.RunCli(["predict", "--model", path, .. fixture.SampleImages]);
        Assert.Equal(2, code);
        Assert.Empty(stdout);
        Assert.Contains($"--model {path} {message}", stderr);
    }

    private static List<(string Path, string Label, double Probability)> Parse(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.TrimEnd('\r').Split('\t'))
            .Select(f => (f[0], f[1], double.Parse(f[2], CultureInfo.InvariantCulture)))
            .ToList();
}
