using MLNetNormalization.Data;

namespace MLNetNormalization.Tests.DataViews;

/// <summary>MapValueToKey and MapKeyToValue, with keys worked out by hand.</summary>
public class KeyMappingTests
{
    public sealed class Animal
    {
        public string Kind { get; set; } = "";
        public float Size { get; set; }
        public float[] Pixels { get; set; } = [];
    }

    private static readonly MLNormContext Context = new(1);

    private static IDataView Animals(params (string Kind, float Size)[] rows) =>
        Context.Data.LoadFromEnumerable(rows.Select(r => new Animal { Kind = r.Kind, Size = r.Size }).ToList());

    private static readonly IDataView Zoo = Animals(("dog", 2.5f), ("cat", float.NaN), ("dog", 1), ("bird", 2.5f));

    private static string[] KeyValues(IDataView data, string column)
    {
        string[] values = [];
        data.Schema[column].GetKeyValues(ref values);
        return values;
    }

    [Fact]
    public void KeysFollowTheOrderOfFirstOccurrence()
    {
        var keyed = Context.Transforms.Conversion.MapValueToKey("Key", "Kind").Fit(Zoo).Transform(Zoo);

        Assert.Equal(new KeyDataViewType(3), keyed.Schema["Key"].Type);
        Assert.Equal(["dog", "cat", "bird"], KeyValues(keyed, "Key"));
        Assert.Equal([1u, 2u, 1u, 3u], DataTestSupport.ReadColumn<uint>(keyed, "Key"));
        Assert.Equal(["dog", "cat", "dog", "bird"], DataTestSupport.ReadColumn<string>(keyed, "Kind"));
    }

    [Fact]
    public void KeysCanFollowTheOrderOfValues()
    {
        var byValue = ValueToKeyMappingEstimator.KeyOrdinality.ByValue;
        var keyed = Context.Transforms.Conversion.MapValueToKey("Key", "Kind", keyOrdinality: byValue).Fit(Zoo).Transform(Zoo);
        Assert.Equal(["bird", "cat", "dog"], KeyValues(keyed, "Key"));
        Assert.Equal([3u, 2u, 3u, 1u], DataTestSupport.ReadColumn<uint>(keyed, "Key"));

        // NaN is missing: key 0, and no entry in the values.
        var sizes = Context.Transforms.Conversion.MapValueToKey("SizeKey", "Size", keyOrdinality: byValue).Fit(Zoo).Transform(Zoo);
        float[] values = [];
        sizes.Schema["SizeKey"].GetKeyValues(ref values);
        Assert.Equal([1f, 2.5f], values);
        Assert.Equal([2u, 0u, 1u, 2u], DataTestSupport.ReadColumn<uint>(sizes, "SizeKey"));
    }

    [Fact]
    public void UnseenValuesMapToTheMissingKeyAndBackToTheMissingValue()
    {
        var pipeline = Context.Transforms.Conversion.MapValueToKey("Key", "Kind")
            .Append(Context.Transforms.Conversion.MapKeyToValue("Back", "Key"));
        var model = pipeline.Fit(Zoo);

        var other = model.Transform(Animals(("cat", 1), ("cow", 1), ("bird", 1)));
        Assert.Equal([2u, 0u, 3u], DataTestSupport.ReadColumn<uint>(other, "Key"));
        Assert.Equal(["cat", "", "bird"], DataTestSupport.ReadColumn<string>(other, "Back"));
        Assert.Equal(["dog", "cat", "dog", "bird"], DataTestSupport.ReadColumn<string>(model.Transform(Zoo), "Back"));
    }

    [Fact]
    public void NumbersRoundTripAndMissingNumbersComeBackAsNaN()
    {
        var keyed = Context.Transforms.Conversion.MapValueToKey("Size").Fit(Zoo).Transform(Zoo);
        var back = Context.Transforms.Conversion.MapKeyToValue("Size").Fit(keyed).Transform(keyed);

        Assert.Equal(NumberDataViewType.Single, back.Schema["Size"].Type);
        Assert.Equal([2.5f, float.NaN, 1f, 2.5f], DataTestSupport.ReadColumn<float>(back, "Size"));
    }

    [Fact]
    public void ReusingTheInputNameHidesTheInputColumn()
    {
        var keyed = Context.Transforms.Conversion.MapValueToKey("Kind").Fit(Zoo).Transform(Zoo);

        Assert.Equal(["Kind", "Size", "Pixels", "Kind"], keyed.Schema.Select(c => c.Name));
        Assert.True(keyed.Schema[0].IsHidden);
        Assert.Equal(new KeyDataViewType(3), keyed.Schema["Kind"].Type);
        // The hidden column is still readable by index.
        using var cursor = keyed.GetRowCursor([keyed.Schema[0]]);
        var get = cursor.GetGetter<string>(keyed.Schema[0]);
        var kind = "";
        cursor.MoveNext();
        get(ref kind);
        Assert.Equal("dog", kind);
    }

    [Fact]
    public void TheMaximumNumberOfKeysLeavesLaterValuesMissing()
    {
        var keyed = Context.Transforms.Conversion.MapValueToKey("Key", "Kind", maximumNumberOfKeys: 1).Fit(Zoo).Transform(Zoo);

        Assert.Equal(["dog"], KeyValues(keyed, "Key"));
        Assert.Equal([1u, 0u, 1u, 0u], DataTestSupport.ReadColumn<uint>(keyed, "Key"));
    }

    [Fact]
    public void SchemaErrorsNameTheColumn()
    {
        var conversion = Context.Transforms.Conversion;

        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => conversion.MapValueToKey("Key", "Species").Fit(Zoo));
        Assert.Contains("'Species'", missing.Message);
        Assert.Contains("Kind (String)", missing.Message);
        Assert.Contains("'Pixels'", Assert.Throws<ArgumentOutOfRangeException>(() => conversion.MapValueToKey("Key", "Pixels").Fit(Zoo)).Message);
        var notKey = Assert.Throws<ArgumentOutOfRangeException>(() => conversion.MapKeyToValue("Back", "Kind").Fit(Zoo));
        Assert.Contains("'Kind'", notKey.Message);
        Assert.Contains("not a key column", notKey.Message);
        Assert.Contains("'Kind'", Assert.Throws<ArgumentOutOfRangeException>(() => conversion.MapKeyToValue("Kind").Fit(Zoo).Transform(Zoo)).Message);

        // A fitted transformer given a column of another type.
        var fitted = conversion.MapValueToKey("Key", "Size").Fit(Zoo);
        var renamed = conversion.MapValueToKey("Size", "Kind").Fit(Zoo).Transform(Zoo);
        var wrongType = Assert.Throws<ArgumentOutOfRangeException>(() => fitted.Transform(renamed));
        Assert.Contains("'Size'", wrongType.Message);
        Assert.Contains("Single", wrongType.Message);

        var empty = Context.Data.LoadFromEnumerable(new List<Animal>());
        Assert.Contains("'Kind'", Assert.Throws<InvalidOperationException>(() => conversion.MapValueToKey("Kind").Fit(empty)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => conversion.MapValueToKey("Key", maximumNumberOfKeys: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => conversion.MapValueToKey("Key", keyOrdinality: (ValueToKeyMappingEstimator.KeyOrdinality)7));
    }

    [Fact]
    public void KeysWithoutValuesCannotBeMappedBack()
    {
        var schema = new DataViewSchema.Builder().AddColumn("Key", new KeyDataViewType(2)).ToSchema();
        var transformer = Context.Transforms.Conversion.MapKeyToValue("Value", "Key").Fit(
            Context.Transforms.Conversion.MapValueToKey("Key", "Kind").Fit(Zoo).Transform(Zoo));

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => transformer.GetOutputSchema(schema));
        Assert.Contains("'Key'", error.Message);
        Assert.Contains(AnnotationKinds.KeyValues, error.Message);
    }
}
