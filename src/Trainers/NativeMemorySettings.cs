using System.Runtime.CompilerServices;
using MLNetNormalization.Normalization.Core;
using MLNetNormalization.Normalization;

namespace MLNetNormalization;

/// <summary>
/// A program may train with this assembly alone touching no type of the layers' assembly (a backbone with TorchSharp's
/// own BatchNorm2d), and then the layers' assembly, whose initializer sets glibc's malloc thresholds for libtorch's large
/// tensors, would never load. Running that initializer when this assembly loads gives every such program the settings.
/// </summary>
internal static class NativeMemorySettings
{
#pragma warning disable CA2255 // The settings must precede the first tensor a program allocates through this library.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Apply() => RuntimeHelpers.RunModuleConstructor(typeof(NormalizationLayer).Module.ModuleHandle);
}
