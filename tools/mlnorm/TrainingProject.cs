using System.Globalization;
using System.Text;

namespace MLNetNormalization.Tools.Mlnorm;

/// <summary>What a model was trained from: its data, split, image size and the classifier's options.</summary>
/// <param name="Command">The mlnorm command that trained it ("train" or "sweep"), for the project's comments.</param>
/// <param name="IdxFiles">For a folder of IDX files (pixels): the image and label files read; null for an image folder.</param>
/// <param name="ClassNames">For IDX files: the names given for the label numbers, or null.</param>
internal sealed record TrainingRecipe(string Command, string DatasetPath, (string Images, string Labels)? IdxFiles, IReadOnlyList<string>? ClassNames,
                                      int Height, int Width, bool Rgb, double ValidationFraction, int Seed, ImageClassifierWithNormOptions Options);

/// <summary>
/// Writes the training code of a model, as Model Builder does: a small project (train/) that trains the model again from
/// its dataset with the same split, image steps and options through an ML.NET pipeline, prints ML.NET's metrics on the
/// held-out images and saves model.zip. On the CPU with the same seed it gives the same weights. The project references
/// the MLNetNormalization.Trainers package and TorchSharp-cpu, in a <see cref="PackagedProjectFolder"/>.
/// </summary>
internal static class TrainingProject
{
    public const string FolderName = "train", ProjectName = "MLNormTrainer";

    /// <summary>The classifier options written out: every one the tool sets; the rest keep their defaults.</summary>
    private static readonly string[] OptionNames =
    [
        nameof(ImageClassifierWithNormOptions.Architecture), nameof(ImageClassifierWithNormOptions.NormalizerSpecification),
        nameof(ImageClassifierWithNormOptions.NormalizerPlacement), nameof(ImageClassifierWithNormOptions.Epochs),
        nameof(ImageClassifierWithNormOptions.BatchSize), nameof(ImageClassifierWithNormOptions.LearningRate),
        nameof(ImageClassifierWithNormOptions.Schedule), nameof(ImageClassifierWithNormOptions.WarmupEpochs),
        nameof(ImageClassifierWithNormOptions.Momentum), nameof(ImageClassifierWithNormOptions.WeightDecay),
        nameof(ImageClassifierWithNormOptions.NormWeightDecay), nameof(ImageClassifierWithNormOptions.GateWeightDecay),
        nameof(ImageClassifierWithNormOptions.LabelSmoothing), nameof(ImageClassifierWithNormOptions.CropPadding),
        nameof(ImageClassifierWithNormOptions.HorizontalFlip), nameof(ImageClassifierWithNormOptions.InferenceAlpha),
        nameof(ImageClassifierWithNormOptions.Seed),
    ];

    /// <summary>Writes the project into <c>train/</c> of <paramref name="outputFolder"/>.</summary>
    public static void Write(string outputFolder, TrainingRecipe recipe)
    {
        var folder = Path.Combine(outputFolder, FolderName);
        var trainersVersion = PackagedProjectFolder.Prepare(folder);
        File.WriteAllText(Path.Combine(folder, $"{ProjectName}.csproj"), Csproj(trainersVersion));
        File.WriteAllText(Path.Combine(folder, "Program.cs"), Program(recipe));
    }

    private static string Csproj(string trainersVersion) => $$"""
        <Project Sdk="Microsoft.NET.Sdk">
          <!-- Trains ../model.zip again: dotnet run -c Release, optionally followed by the dataset folder and the model.zip to write (see Program.cs). -->
          <PropertyGroup>
            <OutputType>Exe</OutputType>
            <TargetFramework>net10.0</TargetFramework>
            <Nullable>enable</Nullable>
            <ImplicitUsings>enable</ImplicitUsings>
            <!-- Only linux-x64's libtorch is copied to the output (training on the CPU with TorchSharp-cpu). -->
            <RuntimeIdentifier>linux-x64</RuntimeIdentifier>
            <SelfContained>false</SelfContained>
          </PropertyGroup>
          <ItemGroup>
            <!-- ImageClassifierWithNorm and its normalization layers, with ML.NET 6.0 and ImageAnalytics: from packages/ (nuget.config). -->
            <PackageReference Include="MLNetNormalization.Trainers" Version="{{trainersVersion}}" />
            <!-- libtorch for the CPU. -->
            <PackageReference Include="TorchSharp-cpu" Version="0.107.0" />
          </ItemGroup>
        </Project>

        """;

    private static string Program(TrainingRecipe recipe)
    {
        var options = new StringBuilder();
        foreach (var name in OptionNames)
            options.Append(CultureInfo.InvariantCulture, $"    {name} = {Value(typeof(ImageClassifierWithNormOptions).GetProperty(name)!.GetValue(recipe.Options))},\n");
        var rows = recipe.IdxFiles is var (imagesFile, labelsFile)
            ? $"IdxData.Load(ml, Path.Combine(dataset, {CSharpSource.Literal(Path.GetFileName(imagesFile))}), Path.Combine(dataset, {CSharpSource.Literal(Path.GetFileName(labelsFile))}), " +
              $"{(recipe.ClassNames is { } names ? $"[{string.Join(", ", names.Select(CSharpSource.Literal))}]" : "null")}, Offset, Scale)"
            : "ImageFolder.Load(ml, dataset)";
        // IDX rows hold pixels already: the image steps are fitted on no rows and only go into the model, so that it takes image files too.
        var idx = recipe.IdxFiles is not null;
        var imageInput = idx ? "ml.Data.LoadFromEnumerable(new List<ImageRow>())" : "split.TrainSet";
        var imageRow = idx
            ? "\n/// <summary>An image file and its class: what the model takes, and what its image steps are fitted on.</summary>\n" +
              "internal sealed class ImageRow\n{\n    public string ImagePath { get; set; } = \"\";\n\n    public string Label { get; set; } = \"\";\n}\n"
            : "";
        var pixels = idx ? "view" : "images.Transform(view)";
        var gray = recipe.Rgb ? "" : "\n    .Append(ml.Transforms.ConvertToGrayscale(\"Image\"))";
        var bits = recipe.Rgb ? "Rgb" : "Red";
        var note = recipe.Command == "sweep"
            ? "// The sweep's best trial, at the inference alpha the sweep chose. A trial that halving or the time budget stopped early\n" +
              "// trained fewer epochs than these options give, so this trains it to the end.\n"
            : "";
        return $$"""
            // Trains the model of `mlnorm {{recipe.Command}}` (../model.zip) again, as mlnorm trained it: the images of the dataset
            // split by ML.NET's TrainTestSplit ({{Number(recipe.ValidationFraction)}} held out, seed {{recipe.Seed}}), the image steps, the label keys,
            // ImageClassifierWithNorm with the options below, and the predicted key back to its class name. On the CPU with
            // the same seed it gives the same weights.
            {{note}}// Usage: dotnet run -c Release [-- <dataset folder> <model.zip to write>]
            using Microsoft.ML;
            using Microsoft.ML.Data;
            using Microsoft.ML.Transforms.Image;
            using MLNetNormalization;

            const float Offset = 127.5f, Scale = 1 / 127.5f;   // pixels standardized to [-1, 1]
            var dataset = args.Length > 0 ? args[0] : {{CSharpSource.Literal(recipe.DatasetPath)}};
            var modelPath = args.Length > 1 ? args[1] : "model.zip";

            var ml = new MLContext(seed: {{recipe.Seed}});
            var rows = {{rows}};
            var split = ml.Data.TrainTestSplit(rows, testFraction: {{Number(recipe.ValidationFraction)}}, seed: {{recipe.Seed}});
            var images = ml.Transforms.LoadImages("Image", imageFolder: dataset, inputColumnName: "ImagePath")
                .Append(ml.Transforms.ResizeImages("Image", {{recipe.Width}}, {{recipe.Height}})){{gray}}
                .Append(ml.Transforms.ExtractPixels("Features", "Image", ImagePixelExtractingEstimator.ColorBits.{{bits}}, offsetImage: Offset, scaleImage: Scale))
                .Fit({{imageInput}});
            var keys = ml.Transforms.Conversion.MapValueToKey("Label").Fit(split.TrainSet);
            IDataView Prepare(IDataView view) => keys.Transform({{pixels}});
            var (train, validation) = (Prepare(split.TrainSet), Prepare(split.TestSet));

            var classifier = ml.MulticlassClassification.Trainers.ImageClassifierWithNorm(new ImageClassifierWithNormOptions
            {
            {{options}}    ValidationSet = validation,
                MetricsCallback = p =>
                {
                    if (p.Phase == TrainingPhase.EpochEnd)
                        Console.WriteLine($"epoch {p.Epoch}/{p.Epochs}: loss {p.Loss:F4}, validation accuracy {p.Validation?.MicroAccuracy:P2}");
                },
            }).Fit(train);
            var className = ml.Transforms.Conversion.MapKeyToValue("PredictedLabelValue", "PredictedLabel").Fit(classifier.Transform(train));
            var model = new TransformerChain<ITransformer>([.. images, keys, classifier, className]);

            var metrics = ml.MulticlassClassification.Evaluate(classifier.Transform(validation));
            Console.WriteLine($"validation: accuracy {metrics.MicroAccuracy:P2}, macro accuracy {metrics.MacroAccuracy:P2}, log loss {metrics.LogLoss:F4}");
            ml.Model.Save(model, rows.Schema, modelPath);
            Console.WriteLine($"saved {Path.GetFullPath(modelPath)}");
            {{imageRow}}
            """;
    }

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>An option's value as C# source.</summary>
    private static string Value(object? value) => value switch
    {
        null => "null",
        string text => CSharpSource.Literal(text),
        bool flag => flag ? "true" : "false",
        double number => Number(number),
        int number => number.ToString(CultureInfo.InvariantCulture),
        Enum member => $"{member.GetType().Name}.{member}",
        _ => throw new ArgumentException($"An option of type {value.GetType().Name} has no C# form here; add one to TrainingProject.Value.", nameof(value)),
    };
}
