using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML;

namespace MLNetNormalization.Tools.Mlnorm;

/// <summary>
/// training.json, beside model.zip: what mlnorm train or sweep made the model from (the dataset's path, image count and
/// fingerprint), the split it held out (ML.NET's TrainTestSplit with this fraction and seed), the class names it was given
/// and the validation accuracy it printed, so that `mlnorm evaluate --split validation` scores exactly the held-out images
/// and reaches that accuracy again (the command is <see cref="Evaluate"/>).
/// </summary>
internal sealed partial record TrainingRecord(
    string Command,
    string DatasetPath,
    int Images,
    string Fingerprint,
    double ValidationFraction,
    int Seed,
    int ValidationImages,
    IReadOnlyList<string>? ClassNames,
    double ValidationAccuracy,
    string Evaluate)
{
    public const string FileName = "training.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>The record of a model trained on <paramref name="data"/> and written to <paramref name="outputFolder"/> (its final place).</summary>
    public static TrainingRecord For(string command, MLContext ml, Dataset data, IReadOnlyList<string>? classNames, TrainSettings settings,
                                     double validationAccuracy, string outputFolder)
    {
        var heldOut = ModelPipeline.Split(ml, data, settings.ValidationFraction, settings.Seed).TestSet;
        using var cursor = heldOut.GetRowCursor([]);
        var validationImages = 0;
        while (cursor.MoveNext()) validationImages++;
        string[] evaluate =
        [
            "mlnorm", "evaluate", "--model", Path.Combine(outputFolder, "model.zip"), "--dataset", data.Path, "--split", "validation",
            .. classNames is null ? Array.Empty<string>() : ["--class-names", string.Join(',', classNames)],
        ];
        return new TrainingRecord(command, data.Path, data.Count, data.Fingerprint(), settings.ValidationFraction, settings.Seed, validationImages,
            classNames, validationAccuracy, string.Join(' ', evaluate.Select(ShellWord)));
    }

    public void Write(string folder) => File.WriteAllText(Path.Combine(folder, FileName), JsonSerializer.Serialize(this, Json));

    /// <summary>The record beside <paramref name="modelPath"/>; <paramref name="option"/> (such as "--split validation") names what needs it in the errors.</summary>
    public static TrainingRecord ReadBeside(string modelPath, string option)
    {
        var path = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, FileName);
        if (!File.Exists(path))
            throw new UsageException(
                $"{option}: {path}, which records the split the model was validated on, is missing; pass the model.zip in the folder mlnorm train or sweep wrote, or leave out --split to score every image.");
        try
        {
            return JsonSerializer.Deserialize<TrainingRecord>(File.ReadAllText(path), Json) is { Fingerprint.Length: > 0, ValidationFraction: > 0 and < 1 } record
                ? record
                : throw new JsonException("a field is missing");
        }
        catch (JsonException e)
        {
            throw new UsageException($"{option}: {path} is not a training record mlnorm wrote ({ModelPipeline.OneLine(e.Message)}); pass the model.zip in the folder mlnorm train or sweep wrote, or leave out --split.");
        }
    }

    /// <summary>Refuses a dataset other than the one the model was trained on: another image count, or other files or order (fingerprint).</summary>
    public void RequireSameRows(Dataset data, string option)
    {
        if (data.Count != Images)
            throw Mismatch($"{data.Count} images, the model's {Images}");
        var fingerprint = data.Fingerprint();
        if (fingerprint != Fingerprint)
            throw Mismatch($"its {Images} images are other files or in another order: fingerprint {fingerprint[..12]}, the model's {Fingerprint[..12]}");

        UsageException Mismatch(string what) => new(
            $"{option}: --dataset {data.Path} is not the dataset the model was trained on ({what}); pass --dataset {DatasetPath} (or a copy of it), or leave out --split to score every image of this one.");
    }

    /// <summary>A word for a POSIX shell: as it is when it holds only safe characters, else in single quotes.</summary>
    private static string ShellWord(string word) =>
        SafeWord().IsMatch(word) ? word : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    [GeneratedRegex(@"^[A-Za-z0-9_./:=,+@%-]+$")]
    private static partial Regex SafeWord();

    /// <summary>The held-out share as the messages say it: "1200 of 6000 images held out with fraction 0.2 and seed 1".</summary>
    public string DescribeSplit() => string.Create(CultureInfo.InvariantCulture,
        $"{ValidationImages} of {Images} images held out with fraction {ValidationFraction} and seed {Seed}");
}
