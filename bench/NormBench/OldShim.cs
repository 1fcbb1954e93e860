namespace MLNetNormalization.Bench;

/// <summary>
/// The engine this benchmark replaced, for the report's comparison column: NormBench's round medians (ms) on our former C
/// shim over Debian's libtorch 1.13 (package libtorch1.13 1.13.1+dfsg-4), copied from bench/results.md at commit 4ddeae5
/// (section normalizers; measured 2026-11-21 21:55:51 UTC on an Intel Xeon @ 2.50GHz with 2 cores, 2 threads,
/// `--rounds 5 --max-wait 20`). Its reference row was libtorch 1.13's own BatchNorm2d through the shim. The ratios that
/// table printed were to our "bn" of the time; the ratio to its reference is computed here from the round medians
/// as this benchmark computes its own: the median over rounds of (row's round median / reference's round median in the
/// same round). The rounds are the table's, so a label absent here (another batch size, another normalizer) has none.
/// </summary>
internal static class OldShim
{
    /// <summary>Where the numbers come from, for the report.</summary>
    public const string Source = "NormBench on the former C shim over Debian's libtorch 1.13, bench/results.md at commit 4ddeae5, " +
                                 "measured 2026-11-21 on an Intel Xeon @ 2.50GHz with 2 cores and 2 threads, 5 rounds";

    private static readonly Dictionary<int, double[]> ReferenceRoundMedians = new()
    {
        [128] = [464.7, 470.5, 440.2, 438.6, 336.1],
        [8] = [40.2, 34.2, 35.4, 29.6, 40.6],
    };

    private static readonly Dictionary<(int Batch, string Label), double[]> RoundMedians = new()
    {
        [(128, "bn")] = [541.4, 580.5, 574.1, 586.7, 481.1],
        [(128, "ghost:b=32")] = [550.2, 555.8, 585.8, 552.4, 482.9],
        [(128, "bgn:g=8,b=2")] = [533.0, 583.7, 530.2, 581.0, 571.9],
        [(128, "mn:k=2")] = [566.4, 563.6, 577.8, 653.2, 476.6],
        [(128, "mgn:k=2")] = [626.1, 530.0, 619.7, 702.7, 584.8],
        [(128, "hn:g=1")] = [558.2, 517.7, 508.6, 558.7, 496.2],
        [(128, "hn:mean=gn8,std=en1")] = [534.7, 478.1, 551.3, 500.6, 536.7],
        [(128, "en:g=1")] = [507.9, 444.9, 539.5, 513.9, 554.9],
        [(128, "gn:g=8")] = [517.3, 529.6, 493.5, 453.6, 506.1],
        [(128, "ln")] = [508.6, 585.7, 570.6, 581.5, 486.2],
        [(128, "in")] = [533.6, 555.8, 476.0, 475.5, 475.8],
        [(128, "sn")] = [584.1, 530.4, 574.1, 586.3, 455.0],
        [(8, "bn")] = [48.6, 51.5, 58.7, 48.9, 51.6],
        [(8, "ghost:b=4")] = [53.2, 52.4, 51.5, 48.9, 61.2],
        [(8, "bgn:g=8,b=2")] = [74.1, 61.5, 73.5, 52.5, 62.4],
        [(8, "mn:k=2")] = [74.4, 76.5, 74.4, 61.8, 62.8],
        [(8, "mgn:k=2")] = [84.6, 70.7, 90.3, 68.8, 68.1],
        [(8, "hn:g=1")] = [71.8, 73.8, 71.7, 72.3, 51.9],
        [(8, "hn:mean=gn8,std=en1")] = [70.7, 85.6, 82.4, 62.2, 63.5],
        [(8, "en:g=1")] = [56.9, 58.9, 75.0, 54.9, 53.0],
        [(8, "gn:g=8")] = [73.8, 69.4, 71.9, 50.4, 49.8],
        [(8, "ln")] = [69.4, 71.1, 67.3, 52.7, 48.2],
        [(8, "in")] = [65.6, 50.3, 55.5, 57.1, 44.5],
        [(8, "sn")] = [80.8, 65.1, 78.1, 57.8, 56.9],
    };

    /// <summary>The old shim's paired ratio of a normalizer (by its factory string as timed) to its BatchNorm2d; null where it has none.</summary>
    public static double? RatioToReference(int batch, string label) =>
        RoundMedians.TryGetValue((batch, label), out var rounds) && ReferenceRoundMedians.TryGetValue(batch, out var reference)
            ? Stats.Median(rounds.Zip(reference, (row, bn) => row / bn))
            : null;
}
