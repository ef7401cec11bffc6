using System.Globalization;

namespace PeerRelay.LoadTest;

/// <summary>Reads a server process's CPU time (<c>/proc/PID/stat</c>) and resident memory (<c>/proc/PID/status</c>).</summary>
internal sealed class ServerProbe(int? pid)
{
    /// <summary>Linux reports utime and stime in clock ticks of 1/100 s (USER_HZ).</summary>
    private const double TicksPerSecond = 100;

    public bool Enabled => pid is not null;

    /// <summary>Returns user and system CPU time in milliseconds (0, 0 without a pid).</summary>
    public (double User, double System) Cpu()
    {
        if (pid is null)
        {
            return (0, 0);
        }

        var stat = File.ReadAllText($"/proc/{pid}/stat");

        // The command name may hold spaces; fields are counted after its closing parenthesis.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var utime = double.Parse(fields[11], CultureInfo.InvariantCulture);
        var stime = double.Parse(fields[12], CultureInfo.InvariantCulture);
        return (utime * 1000 / TicksPerSecond, stime * 1000 / TicksPerSecond);
    }

    /// <summary>Returns VmRSS in KiB (0 without a pid).</summary>
    public long RssKiB()
    {
        if (pid is null)
        {
            return 0;
        }

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
