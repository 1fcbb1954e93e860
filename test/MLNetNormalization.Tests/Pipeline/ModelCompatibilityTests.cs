namespace MLNetNormalization.Tests.Pipeline;

/// <summary>
/// Models saved by the ML.NET 5.0.1 build of this project (Fixtures/MLNet501Models, see its README) load under today's
/// ML.NET in a fresh process and give the predicted labels, confusion matrix and accuracies that build gave, and its
/// scores and log-losses within 1e-6: the upgrade to ML.NET 6.0 and SkiaSharp 3 changed neither the saved format nor the
/// pixels the trainer's own decoder makes (both models scored bit for bit then); since issue 25 the layers' inference
/// statistics are computed in .NET arrays, whose float64 sums round differently from libtorch's in the last bits.
/// </summary>
public sealed class ModelCompatibilityTests
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "MLNet501Models");

    [Fact]
    public void A_pixel_vector_model_saved_by_the_501_build_scores_as_it_did()
    {
        using var folder = new Support.TempDirectory();
        var output = folder.File("features.txt");
        ModelLoadProbe.Run(Path.Combine(Fixtures, "features-rows.bin"), Path.Combine(Fixtures, "features-mn-k2.zip"), output);
        AssertSameLines(Path.Combine(Fixtures, "expected-features-mn-k2.txt"), output);
    }

    [Fact]
    public void An_encoded_image_model_saved_by_the_501_build_decodes_resizes_and_scores_as_it_did()
    {
        using var folder = new Support.TempDirectory();
        // The probe reads image paths as given: make the fixture's relative paths absolute.
        var rows = folder.File("rows.tsv");
        File.WriteAllLines(rows, File.ReadAllLines(Path.Combine(Fixtures, "images-rows.tsv"))
            .Select(line => line.Split('\t'))
            .Select(fields => $"{fields[0]}\t{Path.Combine(Fixtures, fields[1])}"));
        var output = folder.File("images.txt");
        ModelLoadProbe.Run(rows, Path.Combine(Fixtures, "images-gn-g2.zip"), output);
        AssertSameLines(Path.Combine(Fixtures, "expected-images-gn-g2.txt"), output);
    }

    private static void AssertSameLines(string expectedPath, string actualPath)
    {
        var expected = ModelLoadProbe.Result.Read(expectedPath);
        var actual = ModelLoadProbe.Result.Read(actualPath);
        Assert.Equal(30, expected.Rows.Length);
        Assert.Equal(expected.Rows.Length, actual.Rows.Length);
        Assert.Equal(expected.Metrics.Length, actual.Metrics.Length);
        foreach (var (expectedLine, actualLine) in expected.Rows.Zip(actual.Rows).Concat(expected.Metrics.Zip(actual.Metrics)))
        {
            // "row i label hex..." (float32 scores), "metric name hex..." (float64), "confusion counts...".
            var (expectedFields, actualFields) = (expectedLine.Split(' '), actualLine.Split(' '));
            Assert.Equal(expectedFields.Length, actualFields.Length);
            var numbers = expectedFields[0] switch { "row" => 3, "metric" => 2, _ => expectedFields.Length };
            Assert.Equal(expectedFields[..numbers], actualFields[..numbers]);
            var accuracy = expectedFields[0] == "metric" && expectedFields[1].EndsWith("Accuracy", StringComparison.Ordinal);
            for (var i = numbers; i < expectedFields.Length; i++)
            {
                var (e, a) = (Value(expectedFields[i]), Value(actualFields[i]));
                Assert.True(accuracy ? e == a : Math.Abs(e - a) <= 1e-6, $"{expectedLine}\nvs\n{actualLine}\nfield {i}: {e:R} vs {a:R}");
            }
        }
    }

    private static double Value(string hex) => hex.Length == 8
        ? BitConverter.UInt32BitsToSingle(Convert.ToUInt32(hex, 16))
        : BitConverter.Int64BitsToDouble(Convert.ToInt64(hex, 16));
}
