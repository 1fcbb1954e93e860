using System.Linq.Expressions;
using System.Reflection;

namespace MLNetNormalization.Data;

/// <summary>
/// A public field or read-write property of a row class, seen as a column: name, type, and compiled accessors.
/// Get-only properties and read-only fields are not columns, since a row class must work in both directions
/// (LoadFromEnumerable reads members, CreateEnumerable writes them).
/// </summary>
internal sealed class RowMember
{
    private static readonly (Type Type, PrimitiveDataViewType ColumnType)[] Primitives =
    [
        (typeof(float), NumberDataViewType.Single), (typeof(double), NumberDataViewType.Double),
        (typeof(byte), NumberDataViewType.Byte), (typeof(int), NumberDataViewType.Int32),
        (typeof(long), NumberDataViewType.Int64), (typeof(uint), NumberDataViewType.UInt32),
        (typeof(string), TextDataViewType.Instance), (typeof(bool), BooleanDataViewType.Instance),
    ];

    private RowMember(MemberInfo member, Type memberType, Type rowType)
    {
        Member = member;
        MemberType = memberType;
        ColumnName = member.GetCustomAttribute<ColumnNameAttribute>()?.Name ?? member.Name;
        LoadColumn = member.GetCustomAttribute<LoadColumnAttribute>()?.FieldIndex;
        ColumnType = ColumnTypeOf(memberType) ?? throw new NotSupportedException(
            $"{rowType.Name}.{member.Name} is a {memberType.Name}, which cannot be a column. Supported member types: {SupportedTypes}.");
    }

    public static string SupportedTypes =>
        string.Join(", ", Primitives.Select(p => p.Type.Name)) + ", and arrays of these (vector columns)";

    public MemberInfo Member { get; }
    public Type MemberType { get; }
    public string ColumnName { get; }
    public int? LoadColumn { get; }
    public DataViewType ColumnType { get; }

    /// <summary>The column members of <paramref name="rowType"/>: its fields, then its properties, each in declaration order.</summary>
    public static IReadOnlyList<RowMember> Of(Type rowType)
    {
        const BindingFlags flags = BindingFlags.Public | BindingFlags.Instance;
        var fields = rowType.GetFields(flags).Where(f => !f.IsInitOnly).Select(f => (MemberInfo)f);
        var properties = rowType.GetProperties(flags)
            .Where(p => p.GetIndexParameters().Length == 0 && p.GetMethod?.IsPublic == true && p.SetMethod?.IsPublic == true);
        // Metadata tokens follow declaration order within fields and within properties, but not across the two.
        var members = fields.OrderBy(m => m.MetadataToken).Concat(properties.OrderBy(p => p.MetadataToken))
            .Select(m => new RowMember(m, m is FieldInfo f ? f.FieldType : ((PropertyInfo)m).PropertyType, rowType))
            .ToList();
        if (members.Count == 0)
            throw new ArgumentException($"{rowType.Name} has no public read-write fields or properties to use as columns.");
        var duplicate = members.GroupBy(m => m.ColumnName, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException(
                $"{rowType.Name} maps {string.Join(" and ", duplicate.Select(m => m.Member.Name))} to the same column '{duplicate.Key}'; give them distinct [ColumnName]s.");
        return members;
    }

    /// <summary>The column type for a member of <paramref name="type"/>, or null when it has none.</summary>
    public static DataViewType? ColumnTypeOf(Type type)
    {
        if (type.IsArray && type.GetArrayRank() == 1)
            return ColumnTypeOf(type.GetElementType()!) is PrimitiveDataViewType item ? new VectorDataViewType(item) : null;
        return Array.Find(Primitives, p => p.Type == type).ColumnType;
    }

    /// <summary>A compiled reader of this member from a row object.</summary>
    public Func<TRow, TValue> CompileGetter<TRow, TValue>()
    {
        var row = Expression.Parameter(typeof(TRow), "row");
        return Expression.Lambda<Func<TRow, TValue>>(Expression.MakeMemberAccess(row, Member), row).Compile();
    }

    /// <summary>A compiled writer of this member into a row object.</summary>
    public Action<TRow, TValue> CompileSetter<TRow, TValue>()
    {
        var row = Expression.Parameter(typeof(TRow), "row");
        var value = Expression.Parameter(typeof(TValue), "value");
        return Expression.Lambda<Action<TRow, TValue>>(Expression.Assign(Expression.MakeMemberAccess(row, Member), value), row, value).Compile();
    }
}
