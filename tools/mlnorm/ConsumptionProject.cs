using System.Text;

namespace MLNetNormalization.Tools.Mlnorm;

/// <summary>
/// Writes a small project that uses a saved model.zip: ModelInput, ModelOutput, ModelConsumer.Predict and a Program
/// that prints a prediction per image file, with a csproj that references the NuGet packages the model needs and the
/// MLNetNormalization assemblies (copied into lib/). It also copies the TorchSharpCompat build step into lib/ and imports
/// it, so the project's own build makes TorchSharp load on Debian 12 / Ubuntu 22.04, as this repository's builds do.
/// </summary>
internal static class ConsumptionProject
{
    public const string FolderName = "consume", ProjectName = "MLNormConsumer";

    /// <summary>The assemblies (beside mlnorm.dll) that the project references or runs from lib/.</summary>
    private static readonly string[] LibraryFiles =
    [
        "MLNetNormalization.Trainers.dll", "MLNetNormalization.Normalization.dll",
        "TorchSharpCompat.dll", "TorchSharpCompat.runtimeconfig.json",
    ];

    /// <summary>Writes the project into <c>consume/</c> of <paramref name="outputFolder"/>, beside the model.zip it uses.</summary>
    public static void Write(string outputFolder, IReadOnlyList<string> classNames)
    {
        var folder = Path.Combine(outputFolder, FolderName);
        var lib = Path.Combine(folder, "lib");
        Directory.CreateDirectory(lib);
        foreach (var file in LibraryFiles)
        {
            var source = Path.Combine(AppContext.BaseDirectory, file);
            if (!File.Exists(source))
                throw new InvalidOperationException($"{source} is missing; reinstall mlnorm (its package carries the assemblies the consumption project references).");
            File.Copy(source, Path.Combine(lib, file));
        }
        // Empty, so that no Directory.Build.props/targets of the folders above changes how the project builds.
        File.WriteAllText(Path.Combine(folder, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(folder, "Directory.Build.targets"), "<Project />\n");
        File.WriteAllText(Path.Combine(folder, $"{ProjectName}.csproj"), Csproj);
        File.WriteAllText(Path.Combine(folder, "TorchSharpCompat.targets"), CompatTargets);
        File.WriteAllText(Path.Combine(folder, "ModelInput.cs"), ModelInput);
        File.WriteAllText(Path.Combine(folder, "ModelOutput.cs"), ModelOutput(classNames));
        File.WriteAllText(Path.Combine(folder, "ModelConsumer.cs"), ModelConsumer);
        File.WriteAllText(Path.Combine(folder, "Program.cs"), Program);
        File.WriteAllText(Path.Combine(folder, "README.md"), Readme);
    }

    private const string Csproj = """
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
            <PackageReference Include="Microsoft.ML" Version="6.0.0" />
            <PackageReference Include="Microsoft.ML.ImageAnalytics" Version="6.0.0" />
            <PackageReference Include="SkiaSharp" Version="3.119.2" />
            <PackageReference Include="SkiaSharp.NativeAssets.Linux.NoDependencies" Version="3.119.2" />
            <PackageReference Include="TorchSharp-cpu" Version="0.107.0" />
          </ItemGroup>
          <ItemGroup>
            <!-- The model's classifier and normalization layers (MLNetNormalization), copied here by mlnorm. -->
            <Reference Include="MLNetNormalization.Trainers"><HintPath>lib/MLNetNormalization.Trainers.dll</HintPath></Reference>
            <Reference Include="MLNetNormalization.Normalization"><HintPath>lib/MLNetNormalization.Normalization.dll</HintPath></Reference>
            <None Include="../model.zip" Link="model.zip" CopyToOutputDirectory="PreserveNewest" />
          </ItemGroup>
          <Import Project="TorchSharpCompat.targets" />
        </Project>

        """;

    private const string CompatTargets = """
        <Project>
          <!-- TorchSharp 0.107's libLibTorchSharp.so asks libstdc++ for GLIBCXX_3.4.32 (GCC 13), which Debian 12 and Ubuntu 22.04
               lack, for a symbol it never calls. After the build copies it to the output folder, lib/TorchSharpCompat.dll marks
               that need weak in the copy there (never in the NuGet cache), only where this machine's libstdc++ lacks the version. -->
          <Target Name="PatchLibTorchSharpInOutput" AfterTargets="CopyFilesToOutputDirectory" Condition="$([MSBuild]::IsOSPlatform('Linux'))">
            <PropertyGroup>
              <_CompatDotnet>$(DOTNET_HOST_PATH)</_CompatDotnet>
              <_CompatDotnet Condition="'$(_CompatDotnet)' == ''">dotnet</_CompatDotnet>
            </PropertyGroup>
            <ItemGroup>
              <_LibTorchSharpInOutput Include="@(ReferenceCopyLocalPaths->'$(OutDir)%(DestinationSubDirectory)%(Filename)%(Extension)')"
                                      Condition="'%(Filename)%(Extension)' == 'libLibTorchSharp.so'" />
            </ItemGroup>
            <Exec Condition="'@(_LibTorchSharpInOutput)' != ''"
                  Command="&quot;$(_CompatDotnet)&quot; &quot;$(MSBuildThisFileDirectory)lib/TorchSharpCompat.dll&quot; @(_LibTorchSharpInOutput->'&quot;%(FullPath)&quot;', ' ')" />
          </Target>
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
        var names = string.Join(", ", classNames.Select(Literal));
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

        In your own code, copy `ModelInput.cs`, `ModelOutput.cs` and `ModelConsumer.cs`, the package and `lib/` references
        of the csproj and its `TorchSharpCompat.targets` import, and call `ModelConsumer.Predict(path)`.

        """;

    private static string Literal(string text)
    {
        var builder = new StringBuilder("\"");
        foreach (var c in text)
            builder.Append(c switch { '"' => "\\\"", '\\' => "\\\\", '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", _ => c.ToString() });
        return builder.Append('"').ToString();
    }
}
