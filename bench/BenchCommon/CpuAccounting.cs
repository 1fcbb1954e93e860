using System.Globalization;

namespace MLNetNormalization.Bench;

/// <summary>
/// Machine-wide CPU time (/proc/stat) against this process's own and its waited-for children's
/// (/proc/self/stat), so that the report can say how much CPU other processes took during the run:
/// on a shared 2-core machine that is what makes a timing worthless.
/// </summary>
public readonly record struct CpuSnapshot(long MachineBusyTicks, long MachineTotalTicks, long OwnTicks)
{
    public static readonly long TicksPerSecond = 100; // USER_HZ, 100 on every Linux build that .NET supports

    public static CpuSnapshot Take()
    {
        try
        {
            // "cpu  user nice system idle iowait irq softirq steal guest guest_nice"
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Skip(1).Take(8).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            var total = fields.Sum();
            var idle = fields[3] + fields[4];
            // /proc/self/stat: the command may hold spaces, so count fields after its closing parenthesis.
            var self = File.ReadAllText("/proc/self/stat");
            var after = self[(self.LastIndexOf(')') + 2)..].Split(' ');
            // after[0] is field 3 (state); utime, stime, cutime, cstime are fields 14-17.
            var own = Enumerable.Range(14, 4).Sum(f => long.Parse(after[f - 3], CultureInfo.InvariantCulture));
            return new CpuSnapshot(total - idle, total, own);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            return default;
        }
    }

    /// <summary>Core-seconds that other processes used between two snapshots, and the machine's capacity over that time (core-seconds).</summary>
    public static (double OtherSeconds, double CapacitySeconds) Others(CpuSnapshot start, CpuSnapshot end)
    {
        if (start.MachineTotalTicks == 0 || end.MachineTotalTicks == 0) return (double.NaN, double.NaN);
        var busy = end.MachineBusyTicks - start.MachineBusyTicks;
        var own = end.OwnTicks - start.OwnTicks;
        return (Math.Max(0, busy - own) / (double)TicksPerSecond, (end.MachineTotalTicks - start.MachineTotalTicks) / (double)TicksPerSecond);
    }
}

public static class ProcessStat
{
    /// <summary>Minor page faults of this process so far (/proc/self/stat field 10), or 0 where unavailable.</summary>
    public static long MinorFaults()
    {
        try
        {
            var self = File.ReadAllText("/proc/self/stat");
            var after = self[(self.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(after[10 - 3], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>This process's resident set size in bytes (VmRSS of /proc/self/status).</summary>
    public static long ResidentBytes()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
            ?? throw new InvalidOperationException("/proc/self/status has no VmRSS line: the process's resident memory cannot be read here.");
        // "VmRSS:	  123456 kB"
        return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }
}

/// <summary>Waits for the other processes on the machine to calm down before a measurement.</summary>
public static class QuietMachine
{
    private static readonly TimeSpan Probe = TimeSpan.FromSeconds(0.5);

    /// <summary>
    /// Probes the machine (half a second at a time) until other processes take at most <paramref name="maxShare"/>
    /// of its CPU, or until <paramref name="maxWait"/> has passed; returns how long it waited (zero when quiet at once).
    /// </summary>
    public static TimeSpan Wait(double maxShare, TimeSpan maxWait)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (true)
        {
            var before = CpuSnapshot.Take();
            Thread.Sleep(Probe);
            var (other, capacity) = CpuSnapshot.Others(before, CpuSnapshot.Take());
            var waited = System.Diagnostics.Stopwatch.GetElapsedTime(started);
            if (double.IsNaN(other) || other / capacity <= maxShare) return waited - Probe;
            if (waited >= maxWait) return waited;
        }
    }
}
