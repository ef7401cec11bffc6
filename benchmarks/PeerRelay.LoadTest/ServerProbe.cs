using System.Globalization;

namespace PeerRelay.LoadTest;

/// <summary>
/// Reads the CPU time (<c>/proc/PID/stat</c>) and resident memory (<c>/proc/PID/status</c>) of the server under test,
/// summed over its processes (<c>--server-pid</c>, repeatable: nginx's worker and the relay behind it are one
/// deployment), and the CPU time of other processes over the same window (<c>--also-pid</c>: a fleet's other nodes, Redis).
/// </summary>
internal sealed class ServerProbe(IReadOnlyList<int> pids, IReadOnlyList<int>? alsoPids = null)
{
    /// <summary>Linux reports utime and stime in clock ticks of 1/100 s (USER_HZ).</summary>
    private const double TicksPerSecond = 100;

    private double[] _alsoStart = [];

    public bool Enabled => pids.Count > 0;

    /// <summary>Gets the CPU time (ms) of each <c>--also-pid</c> process between <see cref="StartAlso"/> and <see cref="EndAlso"/>.</summary>
    public double[]? AlsoCpuMs { get; private set; }

    /// <summary>Returns user and system CPU time in milliseconds, summed over the server's processes (0, 0 without one).</summary>
    public (double User, double System) Cpu()
    {
        (double User, double System) sum = (0, 0);
        foreach (var pid in pids)
        {
            var cpu = CpuOf(pid);
            sum = (sum.User + cpu.User, sum.System + cpu.System);
        }

        return sum;
    }

    public void StartAlso() => _alsoStart = alsoPids is null ? [] : alsoPids.Select(p => Total(CpuOf(p))).ToArray();

    public void EndAlso()
    {
        if (alsoPids is { Count: > 0 })
        {
            AlsoCpuMs = alsoPids.Select((p, i) => Total(CpuOf(p)) - _alsoStart[i]).ToArray();
        }
    }

    private static double Total((double User, double System) cpu) => cpu.User + cpu.System;

    private static (double User, double System) CpuOf(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");

        // The command name may hold spaces; fields are counted after its closing parenthesis.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var utime = double.Parse(fields[11], CultureInfo.InvariantCulture);
        var stime = double.Parse(fields[12], CultureInfo.InvariantCulture);
        return (utime * 1000 / TicksPerSecond, stime * 1000 / TicksPerSecond);
    }

    /// <summary>Returns VmRSS in KiB, summed over the server's processes (0 without one).</summary>
    public long RssKiB() => pids.Sum(RssKiBOf);

    private static long RssKiBOf(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }
}
