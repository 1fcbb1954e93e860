namespace MLNetNormalization.Data;

/// <summary>A type whose values are single items (numbers, text, booleans, keys): what a vector column can hold.</summary>
public abstract class PrimitiveDataViewType : DataViewType
{
    private protected PrimitiveDataViewType(Type rawType) : base(rawType)
    {
    }
}
