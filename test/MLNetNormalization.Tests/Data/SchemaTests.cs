using MLNetNormalization.Data;

namespace MLNetNormalization.Tests.DataViews;

/// <summary>Column types, schema lookup and the checks every cursor makes.</summary>
public class SchemaTests
{
    [Fact]
    public void TypesHaveTheirRawTypesAndCompareByWhatTheyDescribe()
    {
        Assert.Equal(typeof(float), NumberDataViewType.Single.RawType);
        Assert.Equal(typeof(double), NumberDataViewType.Double.RawType);
        Assert.Equal(typeof(byte), NumberDataViewType.Byte.RawType);
        Assert.Equal(typeof(int), NumberDataViewType.Int32.RawType);
        Assert.Equal(typeof(long), NumberDataViewType.Int64.RawType);
        Assert.Equal(typeof(uint), NumberDataViewType.UInt32.RawType);
        Assert.Equal(typeof(string), TextDataViewType.Instance.RawType);
        Assert.Equal(typeof(bool), BooleanDataViewType.Instance.RawType);
        Assert.Equal(typeof(uint), new KeyDataViewType(10).RawType);
        Assert.Equal(new KeyDataViewType(10), new KeyDataViewType(10));
        Assert.NotEqual(new KeyDataViewType(10), new KeyDataViewType(11));
        Assert.NotEqual<DataViewType>(new KeyDataViewType(10), NumberDataViewType.UInt32);
        Assert.Equal("Key<UInt32, 0-9>", new KeyDataViewType(10).ToString());

        var image = new VectorDataViewType(NumberDataViewType.Byte, 28, 28);
        Assert.Equal(typeof(byte[]), image.RawType);
        Assert.Equal(784, image.Size);
        Assert.True(image.IsKnownSize);
        Assert.Equal(new[] { 28, 28 }, image.Dimensions.ToArray());
        Assert.Equal(image, new VectorDataViewType(NumberDataViewType.Byte, 28, 28));
        Assert.NotEqual(image, new VectorDataViewType(NumberDataViewType.Byte, 784));
        Assert.Equal("Vector<Byte, 28, 28>", image.ToString());
        Assert.False(new VectorDataViewType(TextDataViewType.Instance).IsKnownSize);
    }

    [Fact]
    public void BadTypeArgumentsAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new KeyDataViewType(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new KeyDataViewType((ulong)uint.MaxValue + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new VectorDataViewType(NumberDataViewType.Single, 3, -1));
        Assert.Throws<ArgumentException>(() => new VectorDataViewType(new KeyDataViewType(3)));
    }

    [Fact]
    public void LookingUpAMissingColumnNamesItAndListsTheColumns()
    {
        var schema = new DataViewSchema.Builder().AddColumn("A", NumberDataViewType.Single).AddColumn("B", TextDataViewType.Instance).ToSchema();

        Assert.Equal(1, schema["B"].Index);
        Assert.Null(schema.GetColumnOrNull("b"));
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => schema["Nope"]);
        Assert.Contains("'Nope'", error.Message);
        Assert.Contains("A (Single), B (String)", error.Message);
    }

    [Fact]
    public void ANameAddedTwiceHidesTheEarlierColumn()
    {
        var schema = new DataViewSchema.Builder()
            .AddColumn("X", TextDataViewType.Instance).AddColumn("Y", NumberDataViewType.Int32).AddColumn("X", new KeyDataViewType(2)).ToSchema();

        Assert.Equal(3, schema.Count);
        Assert.True(schema[0].IsHidden);
        Assert.False(schema[2].IsHidden);
        Assert.Equal(2, schema["X"].Index);
        Assert.Equal(new KeyDataViewType(2), schema["X"].Type);
    }

    [Fact]
    public void AGetterOfTheWrongTypeNamesTheColumnItsTypeAndTheRequestedType()
    {
        var data = new MLNormContext(1).Data.LoadFromEnumerable([new IdRow { Id = 4, Name = "four" }]);
        using var cursor = data.GetRowCursor(data.Schema);

        var error = Assert.Throws<InvalidOperationException>(() => cursor.GetGetter<float>(data.Schema["Id"]));
        Assert.Contains("'Id'", error.Message);
        Assert.Contains("Int32", error.Message);
        Assert.Contains("Single", error.Message);
    }

    [Fact]
    public void CursorsReadOnlyTheirActiveColumnsAndOnlyWhileOnARow()
    {
        var data = new MLNormContext(1).Data.LoadFromEnumerable([new IdRow { Id = 4, Name = "four" }]);
        using var cursor = data.GetRowCursor([data.Schema["Id"]]);

        Assert.True(cursor.IsColumnActive(data.Schema["Id"]));
        Assert.False(cursor.IsColumnActive(data.Schema["Name"]));
        var inactive = Assert.Throws<InvalidOperationException>(() => cursor.GetGetter<string>(data.Schema["Name"]));
        Assert.Contains("'Name'", inactive.Message);

        var get = cursor.GetGetter<int>(data.Schema["Id"]);
        var id = 0;
        Assert.Equal(-1, cursor.Position);
        Assert.Contains("MoveNext", Assert.Throws<InvalidOperationException>(() => get(ref id)).Message);
        Assert.True(cursor.MoveNext());
        Assert.Equal(0, cursor.Position);
        get(ref id);
        Assert.Equal(4, id);
        Assert.False(cursor.MoveNext());
        Assert.False(cursor.MoveNext());
        Assert.Throws<InvalidOperationException>(() => get(ref id));
        cursor.Dispose();
        Assert.Throws<ObjectDisposedException>(() => cursor.MoveNext());
    }

    [Fact]
    public void AColumnOfAnotherSchemaIsRejectedByName()
    {
        var data = new MLNormContext(1).Data.LoadFromEnumerable([new IdRow()]);
        var other = new DataViewSchema.Builder().AddColumn("Other", NumberDataViewType.Int32).ToSchema();

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => data.GetRowCursor([other["Other"]]));
        Assert.Contains("'Other'", error.Message);
    }

    [Fact]
    public void AnnotationsAreReadByKindAndType()
    {
        var annotations = DataViewSchema.Annotations.Create(AnnotationKinds.KeyValues, new VectorDataViewType(TextDataViewType.Instance, 2), new[] { "a", "b" });
        var schema = new DataViewSchema.Builder().AddColumn("K", new KeyDataViewType(2), annotations).AddColumn("T", TextDataViewType.Instance).ToSchema();

        string[] values = [];
        schema["K"].GetKeyValues(ref values);
        Assert.Equal(["a", "b"], values);
        values[0] = "changed";
        schema["K"].GetKeyValues(ref values);
        Assert.Equal("a", values[0]);

        Assert.Contains("'T'", Assert.Throws<InvalidOperationException>(() => schema["T"].GetKeyValues(ref values)).Message);
        var kindError = Assert.Throws<ArgumentOutOfRangeException>(() => schema["K"].Annotations.TypeOf("Slots"));
        Assert.Contains("KeyValues", kindError.Message);
        float[] wrong = [];
        Assert.Contains("String", Assert.Throws<InvalidOperationException>(() => schema["K"].GetKeyValues(ref wrong)).Message);
        Assert.Throws<ArgumentException>(() => DataViewSchema.Annotations.Create("X", NumberDataViewType.Single, 1.0));
    }
}
