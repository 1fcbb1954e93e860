// The trained transformer saves itself into ML.NET's model zip and is found again by ml.Model.Load through
// members ML.NET keeps internal; build/MLNetInternals.targets compiles against them, and these attributes
// make the runtime allow the calls.
[assembly: System.Runtime.CompilerServices.IgnoresAccessChecksTo("Microsoft.ML.Core")]
[assembly: System.Runtime.CompilerServices.IgnoresAccessChecksTo("Microsoft.ML.Data")]

namespace System.Runtime.CompilerServices
{
    /// <summary>
    /// Read by the .NET runtime (it is not in the base library): calls from this assembly into the named assembly skip
    /// the access checks, so internal members may be called.
    /// </summary>
    [AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
    internal sealed class IgnoresAccessChecksToAttribute(string assemblyName) : Attribute
    {
        public string AssemblyName { get; } = assemblyName;
    }
}
