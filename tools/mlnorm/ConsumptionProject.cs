namespace MLNetNormalization.Tools.Mlnorm;

/// <summary>
/// Writes two small projects that use the trained model: consume/ loads model.zip (ModelInput, ModelOutput,
/// ModelConsumer.Predict and a Program that prints a prediction per image file; a csproj that references the
/// MLNetNormalization.Trainers package and TorchSharp-cpu, in a <see cref="PackagedProjectFolder"/>), and consume-onnx/
/// scores model.onnx through ML.NET's ApplyOnnxModel, with ML.NET's packages alone (no TorchSharp, no libtorch).
/// </summary>
internal static class ConsumptionProject
{
    public const string FolderName = "consume", ProjectName = "MLNormConsumer";
    public const string OnnxFolderName = "consume-onnx", OnnxProjectName = "MLNormOnnxConsumer";

    /// <summary>The two projects, as the commands list what they wrote.</summary>
    public const string Projects = $"{FolderName}/{ProjectName}.csproj, {OnnxFolderName}/{OnnxProjectName}.csproj";

    /// <summary>Writes the project into <c>consume/</c> of <paramref name="outputFolder"/>, beside the model.zip it uses.</summary>
    public static void Write(string outputFolder, IReadOnlyList<string> classNames)
    {
        var folder = Path.Combine(outputFolder, FolderName);
        var trainersVersion = PackagedProjectFolder.Prepare(folder);
        File.WriteAllText(Path.Combine(folder, $"{ProjectName}.csproj"), Csproj(trainersVersion));
        File.WriteAllText(Path.Combine(folder, "ModelInput.cs"), ModelInput);
        File.WriteAllText(Path.Combine(folder, "ModelOutput.cs"), ModelOutput(classNames));
        File.WriteAllText(Path.Combine(folder, "ModelConsumer.cs"), ModelConsumer);
        File.WriteAllText(Path.Combine(folder, "Program.cs"), Program);
        File.WriteAllText(Path.Combine(folder, "README.md"), Readme);
    }

    private static string Csproj(string trainersVersion) => $$"""
        <Project Sdk="Microsoft.NET.Sdk">
          <!-- Uses ../model.zip, written by mlnorm. Build and run with the image paths as arguments (see README.md). -->
          <PropertyGroup>
            <OutputType>Exe</OutputType>
            <TargetFramework>net10.0</TargetFramework>
            <Nullable>enable</Nullable>
            <ImplicitUsings>enable</ImplicitUsings>
            <!-- Only linux-x64's libtorch is copied to the output (the model runs on the CPU with TorchSharp-cpu). -->
            <RuntimeIdentifier>linux-x64</RuntimeIdentifier>
            <SelfContained>false</SelfContained>
          </PropertyGroup>
          <ItemGroup>
            <!-- The model's classifier and normalization layers, with ML.NET 6.0 and ImageAnalytics: from packages/ (nuget.config). -->
            <PackageReference Include="MLNetNormalization.Trainers" Version="{{trainersVersion}}" />
            <!-- libtorch for the CPU. -->
            <PackageReference Include="TorchSharp-cpu" Version="0.107.0" />
            <None Include="../model.zip" Link="model.zip" CopyToOutputDirectory="PreserveNewest" />
          </ItemGroup>
        </Project>

        """;

    private const string ModelInput = """
        using Microsoft.ML.Data;

        namespace MLNormConsumer;

        /// <summary>What the model takes: an image file. Label is the image's class when known (evaluation), else empty.</summary>
        public sealed class ModelInput
        {
            [ColumnName("ImagePath")]
            public string ImagePath { get; set; } = "";

            [ColumnName("Label")]
            public string Label { get; set; } = "";
        }

        """;

    private static string ModelOutput(IReadOnlyList<string> classNames)
    {
        var names = string.Join(", ", classNames.Select(CSharpSource.Literal));
        return $$"""
            using Microsoft.ML.Data;

            namespace MLNormConsumer;

            /// <summary>What the model gives: the predicted class and the probability of each class.</summary>
            public sealed class ModelOutput
            {
                /// <summary>The classes, in the order of <see cref="Score"/>.</summary>
                public static readonly string[] ClassNames = [{{names}}];

                [ColumnName("PredictedLabelValue")]
                public string PredictedLabel { get; set; } = "";

                /// <summary>Probability of each class of <see cref="ClassNames"/>.</summary>
                [ColumnName("Score")]
                public float[] Score { get; set; } = [];
            }

            """;
    }

    private const string ModelConsumer = """
        using Microsoft.ML;

        namespace MLNormConsumer;

        /// <summary>Loads model.zip once and predicts the class of image files.</summary>
        public static class ModelConsumer
        {
            /// <summary>model.zip, copied beside the program by the build.</summary>
            public static string ModelPath { get; } = Path.Combine(AppContext.BaseDirectory, "model.zip");

            private static readonly Lazy<PredictionEngine<ModelInput, ModelOutput>> Engine = new(() =>
            {
                var ml = new MLContext();
                var model = ml.Model.Load(ModelPath, out _);
                return ml.Model.CreatePredictionEngine<ModelInput, ModelOutput>(model);
            });

            /// <summary>The model's prediction for one image file.</summary>
            public static ModelOutput Predict(string imagePath)
            {
                var full = Path.GetFullPath(imagePath);
                if (!File.Exists(full)) throw new FileNotFoundException($"{full} does not exist; pass an image file.", full);
                return Engine.Value.Predict(new ModelInput { ImagePath = full });
            }
        }

        """;

    private const string Program = """
        using System.Globalization;
        using MLNormConsumer;

        // Prints one line per image: path, predicted class, its probability.
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: dotnet run -- IMAGE...");
            return 2;
        }
        foreach (var path in args)
        {
            var output = ModelConsumer.Predict(path);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{path}\t{output.PredictedLabel}\t{output.Score.Max():F6}"));
        }
        return 0;

        """;

    private const string Readme = """
        # Using the model

        `../model.zip` is an ML.NET model: image file (`ImagePath`) in, predicted class (`PredictedLabelValue`) and class
        probabilities (`Score`) out. This project loads it and predicts:

        ```sh
        dotnet run -c Release -- path/to/image.png
        ```

        In your own code, copy `ModelInput.cs`, `ModelOutput.cs` and `ModelConsumer.cs` and call
        `ModelConsumer.Predict(path)`; add `packages/` to your package sources (as `nuget.config` does here) and the
        csproj's two package references, `MLNetNormalization.Trainers` and `TorchSharp-cpu`. Nothing else is needed on
        Debian 12 or Ubuntu 22.04: the MLNetNormalization.Normalization package's build step makes TorchSharp load there.

        """;


    /// <summary>
    /// Writes the ONNX project into <c>consume-onnx/</c> of <paramref name="outputFolder"/>, beside the model.onnx it uses:
    /// the same image steps as model.zip's for images of <paramref name="shape"/>, then ApplyOnnxModel.
    /// </summary>
    public static void WriteOnnx(string outputFolder, ImageShape shape, IReadOnlyList<string> classNames)
    {
        var folder = Path.Combine(outputFolder, OnnxFolderName);
        Directory.CreateDirectory(folder);
        // No build settings of the folders above change how it builds.
        File.WriteAllText(Path.Combine(folder, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(folder, "Directory.Build.targets"), "<Project />\n");
        File.WriteAllText(Path.Combine(folder, $"{OnnxProjectName}.csproj"), OnnxCsproj);
        File.WriteAllText(Path.Combine(folder, "ModelInput.cs"), ModelInput.Replace("namespace MLNormConsumer;", $"namespace {OnnxProjectName};", StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(folder, "ModelOutput.cs"), OnnxModelOutput(classNames));
        File.WriteAllText(Path.Combine(folder, "ModelConsumer.cs"), OnnxModelConsumer(shape));
        File.WriteAllText(Path.Combine(folder, "Program.cs"), Program.Replace("using MLNormConsumer;", $"using {OnnxProjectName};", StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(folder, "README.md"), OnnxReadme);
    }

    private static readonly string OnnxCsproj = $$"""
        <Project Sdk="Microsoft.NET.Sdk">
          <!-- Uses ../model.onnx, written by mlnorm, with ML.NET and ONNX Runtime only. Build and run with the image paths as arguments (see README.md). -->
          <PropertyGroup>
            <OutputType>Exe</OutputType>
            <TargetFramework>net10.0</TargetFramework>
            <Nullable>enable</Nullable>
            <ImplicitUsings>enable</ImplicitUsings>
            <!-- Only linux-x64's native libraries (ONNX Runtime, SkiaSharp) are copied to the output. -->
            <RuntimeIdentifier>linux-x64</RuntimeIdentifier>
            <SelfContained>false</SelfContained>
          </PropertyGroup>
          <ItemGroup>
            <!-- Loading and resizing images (ImageAnalytics), and scoring the ONNX model (OnnxTransformer, ONNX Runtime). -->
            <PackageReference Include="Microsoft.ML" Version="6.0.0" />
            <PackageReference Include="Microsoft.ML.ImageAnalytics" Version="6.0.0" />
            <PackageReference Include="Microsoft.ML.OnnxTransformer" Version="6.0.0" />
            <PackageReference Include="Microsoft.ML.OnnxRuntime" Version="1.32.0" />
            <None Include="../model.onnx" Link="model.onnx" CopyToOutputDirectory="PreserveNewest" />
          </ItemGroup>
        </Project>

        """;

    private static string OnnxModelOutput(IReadOnlyList<string> classNames)
    {
        var names = string.Join(", ", classNames.Select(CSharpSource.Literal));
        return $$"""
            using Microsoft.ML.Data;

            namespace {{OnnxProjectName}};

            /// <summary>What the ONNX model gives: the probability of each class and the most probable class's index.</summary>
            public sealed class ModelOutput
            {
                /// <summary>The classes, in the order of <see cref="Score"/>.</summary>
                public static readonly string[] ClassNames = [{{names}}];

                /// <summary>Probability of each class of <see cref="ClassNames"/>.</summary>
                [ColumnName("Score")]
                public float[] Score { get; set; } = [];

                /// <summary>The most probable class's index into <see cref="ClassNames"/> (one value per image).</summary>
                [ColumnName("PredictedLabel")]
                public long[] PredictedIndex { get; set; } = [];

                /// <summary>The predicted class.</summary>
                public string PredictedLabel => ClassNames[PredictedIndex[0]];
            }

            """;
    }

    // The image steps are model.zip's (ModelPipeline.ImageSteps), written out for the model's image shape.
    private static string OnnxModelConsumer(ImageShape shape)
    {
        var rgb = shape.Channels == 3;
        var gray = rgb ? "" : "\n            .Append(ml.Transforms.ConvertToGrayscale(\"Image\"))";
        var colors = rgb ? "Rgb" : "Red";
        var offset = Dataset.PixelOffset.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        var scale = Dataset.PixelScale.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        return $$"""
            using Microsoft.ML;
            using Microsoft.ML.Transforms.Image;

            namespace {{OnnxProjectName}};

            /// <summary>Loads model.onnx once and predicts the class of image files: {{shape.Width}}x{{shape.Height}} {{(rgb ? "RGB" : "gray")}} pixels, standardized as in training.</summary>
            public static class ModelConsumer
            {
                /// <summary>model.onnx, copied beside the program by the build.</summary>
                public static string ModelPath { get; } = Path.Combine(AppContext.BaseDirectory, "model.onnx");

                private static readonly Lazy<PredictionEngine<ModelInput, ModelOutput>> Engine = new(() =>
                {
                    var ml = new MLContext();
                    var pipeline = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath")
                        .Append(ml.Transforms.ResizeImages("Image", {{shape.Width}}, {{shape.Height}})){{gray}}
                        .Append(ml.Transforms.ExtractPixels("Features", "Image", ImagePixelExtractingEstimator.ColorBits.{{colors}}, offsetImage: {{offset}}f, scaleImage: {{scale}}f))
                        .Append(ml.Transforms.ApplyOnnxModel(["Score", "PredictedLabel"], ["Features"], ModelPath));
                    var model = pipeline.Fit(ml.Data.LoadFromEnumerable(new List<ModelInput>()));
                    return ml.Model.CreatePredictionEngine<ModelInput, ModelOutput>(model);
                });

                /// <summary>The model's prediction for one image file.</summary>
                public static ModelOutput Predict(string imagePath)
                {
                    var full = Path.GetFullPath(imagePath);
                    if (!File.Exists(full)) throw new FileNotFoundException($"{full} does not exist; pass an image file.", full);
                    return Engine.Value.Predict(new ModelInput { ImagePath = full });
                }
            }

            """;
    }

    private const string OnnxReadme = """
        # Using the model with ONNX Runtime

        `../model.onnx` is the classifier as an ONNX model (opset 12): `Features`, the image's standardized pixels
        [N, C, H, W] float32, in; `Score`, the probability of each class, and `PredictedLabel`, the most probable class's
        index, out. This project loads and resizes an image with ML.NET, standardizes its pixels as training did, and
        scores it with `ApplyOnnxModel`: ML.NET and ONNX Runtime only, no TorchSharp and no libtorch.

        ```sh
        dotnet run -c Release -- path/to/image.png
        ```

        In your own code, copy `ModelInput.cs`, `ModelOutput.cs` and `ModelConsumer.cs` and call
        `ModelConsumer.Predict(path)`, with the csproj's package references. Any other ONNX runtime can score model.onnx
        too: its metadata holds the class names (`class_names`) and the input shape (`input_shape`).

        """;
}
