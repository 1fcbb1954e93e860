using System.Reflection;
using System.Runtime.InteropServices;

namespace MLNetNormalization.TorchBinding;

/// <summary>
/// Loads libmlnorm_shim.so from beside this assembly, and turns a missing shim or a missing libtorch
/// into an error that says how to fix it, instead of the runtime's bare DllNotFoundException.
/// </summary>
internal static class NativeLibraryLoader
{
    internal const string SetupHint =
        "Run scripts/setup.sh (it installs libtorch-dev and the other prerequisites), then dotnet build, " +
        "which builds the shim with CMake and copies it beside the assemblies.";

    internal static void Register() =>
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) =>
        name == Native.Library ? Load(ShimPath(assembly)) : IntPtr.Zero;

    internal static string ShimPath(Assembly assembly) =>
        Path.Combine(Path.GetDirectoryName(assembly.Location) ?? AppContext.BaseDirectory, "libmlnorm_shim.so");

    internal static IntPtr Load(string shimPath)
    {
        if (!File.Exists(shimPath))
            throw new DllNotFoundException($"The native shim {shimPath} does not exist. {SetupHint}");
        try
        {
            return NativeLibrary.Load(shimPath);
        }
        catch (DllNotFoundException e)
        {
            // The shim is there, so what failed is one of its dependencies, libtorch most likely.
            throw new DllNotFoundException(
                $"The native shim {shimPath} could not be loaded ({e.Message}). {SetupHint}", e);
        }
    }
}
