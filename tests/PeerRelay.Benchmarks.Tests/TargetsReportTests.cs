using System.Diagnostics;
using PeerRelay.Testing;

namespace PeerRelay.Benchmarks.Tests;

/// <summary>The targets table that <c>benchmarks/run-loopback.sh</c> appends to a results file.</summary>
public sealed class TargetsReportTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task TargetsTable_SaysWhichTargetsAreMet_AndHowFarOffTheOthersAre()
    {
        var raw = _directory.WriteFile("run.jsonl", string.Join('\n',
            Line("forward-10x200", "relay", """{"serverCpuPerUnitUs":25,"serverSystemPerUnitUs":18,"latencyP99Us":700}"""),
            Line("forward-10x200", "peerjs", """{"serverCpuPerUnitUs":40,"serverSystemPerUnitUs":20,"latencyP99Us":900}"""),
            Line("forward-1x200", "relay", """{"latencyP99Us":80,"latencyP50Us":60}"""),
            Line("forward-1x200", "peerjs", """{"latencyP99Us":150,"latencyP50Us":90}"""),
            Line("connect-19000", "relay", """{"serverCpuPerUnitUs":140,"serverSystemPerUnitUs":70,"rssPerClientKiB":5.5,"forwardCheck":true,"errors":0}"""),
            Line("connect-19000", "peerjs", """{"serverCpuPerUnitUs":280,"serverSystemPerUnitUs":90,"rssPerClientKiB":5.6,"forwardCheck":true,"errors":0}""")));
        var report = _directory.WriteFile("report.md", "# Results\n\n## Churn\n\ntable\n\n## Every run\n\nruns\n");

        await RunAsync(raw, report);
        await RunAsync(raw, report); // Run again: the section is replaced, not repeated.

        var text = await File.ReadAllTextAsync(report);
        Assert.Equal(1, CountOf(text, "## Targets (issue 6)"));
        Assert.True(text.IndexOf("## Targets", StringComparison.Ordinal) < text.IndexOf("## Every run", StringComparison.Ordinal));
        Assert.Contains("| server CPU per forwarded message ≤ 10 µs | forward-10x200 | 25.0 µs | 40.0 µs | **not met**: 15.0 µs over (2.50×) | 18.0 µs / 20.0 µs |", text, StringComparison.Ordinal);
        Assert.Contains("| … and ≥ 3× less than PeerJS | forward-10x200 | 1.60× less | | **not met**: PeerRelay would need 13.3 µs |", text, StringComparison.Ordinal);
        Assert.Contains("| one-hop latency p99 ≤ 100 µs, 1 pair | forward-1x200 | 80.0 µs | 150.0 µs | met |", text, StringComparison.Ordinal);
        Assert.Contains("| one-hop latency p99 no worse than PeerJS, 10 pairs | forward-10x200 | 700.0 µs | 900.0 µs | met |", text, StringComparison.Ordinal);
        Assert.Contains("| server RSS per idle registered client ≤ 5 KiB | connect-19000 | 5.50 KiB | 5.60 KiB | **not met**: 0.50 KiB over (1.10×) |", text, StringComparison.Ordinal);
        Assert.Contains("| 19000 idle clients held by one process, forwarding between first and last | connect-19000 | yes |", text, StringComparison.Ordinal);
        Assert.Contains("the kernel alone spends 18 µs per message", text, StringComparison.Ordinal);
    }

    /// <summary>One line of run-loopback.sh's raw output; <paramref name="fields"/> is the result object without its target.</summary>
    private static string Line(string @case, string target, string fields) =>
        $$"""{"case":"{{@case}}","rep":1,"result":{"target":"{{target}}",{{fields[1..]}}}""";

    private static int CountOf(string text, string what) => text.Split(what).Length - 1;

    private static async Task RunAsync(string raw, string report)
    {
        var script = Path.Combine(RepositoryRoot(), "benchmarks", "loopback-targets.py");
        var info = new ProcessStartInfo("python3") { RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(script);
        info.ArgumentList.Add(raw);
        info.ArgumentList.Add(report);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WithTimeout();
        Assert.True(process.ExitCode == 0, $"loopback-targets.py exited with {process.ExitCode}: {await stderr}");
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "PeerRelay.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No PeerRelay.slnx above {AppContext.BaseDirectory}.");
    }
}
