namespace MLNetNormalization.Tests.Pipeline;

/// <summary>
/// Models saved by the ML.NET 5.0.1 build of this project (Fixtures/MLNet501Models, see its README) load under today's
/// ML.NET in a fresh process and give the scores, predicted labels and metrics that build gave, bit for bit: the upgrade
/// to ML.NET 6.0 and SkiaSharp 3 changed neither the saved format nor the pixels the trainer's own decoder makes.
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
        Assert.Equal(30, expected.Rows.Length);
        Assert.Equal(expected, ModelLoadProbe.Result.Read(actualPath));
    }
}
