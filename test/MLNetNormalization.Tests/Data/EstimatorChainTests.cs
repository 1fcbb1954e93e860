using MLNetNormalization.Data;

namespace MLNetNormalization.Tests.DataViews;

/// <summary>Estimator and transformer chains, and schema shapes before fitting.</summary>
public class EstimatorChainTests
{
    private static readonly MLNormContext Context = new(1);

    private static readonly IDataView Data = Context.Data.LoadFromEnumerable(
        new List<IdRow> { new() { Id = 30, Name = "c" }, new() { Id = 10, Name = "a" }, new() { Id = 30, Name = "c" } });

    [Fact]
    public void EachEstimatorIsFittedOnTheOutputOfTheTransformersBeforeIt()
    {
        var conversion = Context.Transforms.Conversion;
        // The second estimator reads the column the first one makes, so it can only be fitted after the first.
        var chain = conversion.MapValueToKey("IdKey", "Id")
            .Append(conversion.MapKeyToValue("IdBack", "IdKey"))
            .Append(conversion.MapValueToKey("IdBackKey", "IdBack", keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue));

        var model = chain.Fit(Data);
        Assert.Equal(3, model.Count());
        Assert.IsType<ValueToKeyMappingTransformer>(model.LastTransformer);
        var output = model.Transform(Data);
        Assert.Equal([1u, 2u, 1u], DataTestSupport.ReadColumn<uint>(output, "IdKey"));
        Assert.Equal([30, 10, 30], DataTestSupport.ReadColumn<int>(output, "IdBack"));
        Assert.Equal([2u, 1u, 2u], DataTestSupport.ReadColumn<uint>(output, "IdBackKey"));
        Assert.Equal(output.Schema.Select(c => (c.Name, c.Type)), model.GetOutputSchema(Data.Schema).Select(c => (c.Name, c.Type)));
    }

    [Fact]
    public void TheOutputShapeIsKnownBeforeFitting()
    {
        var conversion = Context.Transforms.Conversion;
        var chain = conversion.MapValueToKey("Key", "Name").Append(conversion.MapKeyToValue("Back", "Key"));

        var shape = chain.GetOutputSchema(SchemaShape.Create(Data.Schema));
        Assert.Equal(["Id", "Name", "Key", "Back"], shape.Select(c => c.Name));
        Assert.True(shape[2].IsKey);
        Assert.True(shape[2].Annotations.TryFindColumn(AnnotationKinds.KeyValues, out var keyValues));
        Assert.Equal(TextDataViewType.Instance, keyValues.ItemType);
        Assert.Equal(SchemaShape.Column.VectorKind.Scalar, shape[3].Kind);
        Assert.Equal(TextDataViewType.Instance, shape[3].ItemType);

        Assert.Contains("'Nope'", Assert.Throws<ArgumentOutOfRangeException>(() => conversion.MapValueToKey("K", "Nope").GetOutputSchema(SchemaShape.Create(Data.Schema))).Message);
        Assert.Contains("'Name'", Assert.Throws<ArgumentOutOfRangeException>(() => conversion.MapKeyToValue("V", "Name").GetOutputSchema(SchemaShape.Create(Data.Schema))).Message);
    }

    [Fact]
    public void AnEmptyChainChangesNothingAndTransformerChainsCheckTheirLastType()
    {
        var empty = new EstimatorChain<ITransformer>().Fit(Data);
        Assert.Null(empty.LastTransformer);
        Assert.Same(Data, empty.Transform(Data));

        var keyer = Context.Transforms.Conversion.MapValueToKey("Key", "Name").Fit(Data);
        Assert.Throws<ArgumentException>(() => new TransformerChain<KeyToValueMappingTransformer>(keyer));
        var appended = new TransformerChain<ITransformer>().Append(keyer);
        Assert.Same(keyer, appended.LastTransformer);
    }
}
