namespace MLNetNormalization.Tests.Support;

/// <summary>
/// Names of the xunit collections whose tests must not run beside any other test. xunit runs the
/// parallel collections first and then each of these alone.
/// </summary>
internal static class TestCollections
{
    /// <summary>Tests that read the process RSS, which are process-wide.</summary>
    public const string NativeMemory = "NativeMemory";

    /// <summary>Tests that seed or draw from libtorch's global generator (module initialisation, dropout, torch.manual_seed).</summary>
    public const string GlobalRandom = "GlobalRandom";
}

[CollectionDefinition(TestCollections.NativeMemory, DisableParallelization = true)]
public sealed class NativeMemoryCollection;

[CollectionDefinition(TestCollections.GlobalRandom, DisableParallelization = true)]
public sealed class GlobalRandomCollection;
