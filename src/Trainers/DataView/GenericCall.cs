using System.Reflection;

namespace MLNetNormalization.Data;

/// <summary>
/// Calls a generic method closed over a column's raw type, known only at run time. Exceptions come through
/// unwrapped, so callers see the method's own error (which names the column) rather than a TargetInvocationException.
/// </summary>
internal static class GenericCall
{
    public static TResult Invoke<TResult>(Type owner, string method, Type typeArgument, object? target, params object?[] arguments)
    {
        var flags = BindingFlags.NonPublic | BindingFlags.Public | (target is null ? BindingFlags.Static : BindingFlags.Instance);
        var generic = owner.GetMethod(method, flags) ?? throw new MissingMethodException(owner.Name, method);
        return (TResult)generic.MakeGenericMethod(typeArgument).Invoke(target, BindingFlags.DoNotWrapExceptions, null, arguments, null)!;
    }
}
