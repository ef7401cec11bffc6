using PeerRelay.Testing;

namespace PeerRelay.Benchmarks.Tests;

/// <summary>
/// The report of <c>benchmarks/run-floor-ab.sh</c> (<c>floor-ab-report.py</c>): medians, each variant's ratio to the
/// floor as the ratio of the medians and as the median of the paired ratios, and from four repetitions on the
/// interquartile range of those ratios.
/// </summary>
public sealed class FloorAbReportTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Report_GivesRatioOfMedians_PairedMedian_AndItsInterquartileRange()
    {
        // Four repetitions; the relay's paired ratios are 1.0, 1.2, 1.5 and 2.0 (the floor drifts: 10, 10, 20, 10).
        var raw = Raw(
            Window("churn", 1, "floor", 10), Window("churn", 1, "relay", 10),
            Window("churn", 2, "floor", 10), Window("churn", 2, "relay", 12),
            Window("churn", 3, "floor", 20), Window("churn", 3, "relay", 30),
            Window("churn", 4, "floor", 10), Window("churn", 4, "relay", 20));

        var report = await BenchmarkScripts.RunAsync("floor-ab-report.py", raw, "floor", "relay");

        // Medians 10 and 16 (1.60×); paired median 1.35×; quartiles (Python's exclusive method) 1.05 and 1.88; the relay
        // above the floor in three repetitions (a tie is not above).
        Assert.Contains("| churn | CPU/unit µs | 10.00 | 16.00 | 1.60× (1.35×, IQR 1.05–1.88×, above in 3 of 4) |", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_WithFewerThanFourRepetitions_HasNoRange_AndLeavesResidentMemoryOut()
    {
        var raw = Raw(
            Window("connect-10000", 1, "floor", 50, rss: 0.2, resident: true), Window("connect-10000", 1, "relay", 60, rss: 1.2, resident: true),
            Window("forward-10x200@1", 1, "floor", 14, p99: 700), Window("forward-10x200@1", 1, "relay", 21, p99: 910),
            Window("forward-10x200@2", 1, "floor", 14, p99: 700), Window("forward-10x200@2", 1, "relay", 15.4, p99: 700));

        var report = await BenchmarkScripts.RunAsync("floor-ab-report.py", raw, "floor", "relay");

        Assert.Contains("| connect-10000 | CPU/unit µs | 50.00 | 60.00 | 1.20× (1.20×) |", report, StringComparison.Ordinal);
        Assert.DoesNotContain("RSS/client", report, StringComparison.Ordinal); // A long-running server's RSS is not per client.
        // A --curve run's windows are cases of their own, in order.
        Assert.Contains("| forward-10x200@1 | CPU/unit µs | 14.00 | 21.00 | 1.50× (1.50×) |", report, StringComparison.Ordinal);
        Assert.Contains("| forward-10x200@2 | p99 µs | 700.00 | 700.00 | 1.00× (1.00×) |", report, StringComparison.Ordinal);
        Assert.True(report.IndexOf("forward-10x200@1", StringComparison.Ordinal) < report.IndexOf("forward-10x200@2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Report_WithAControlFloor_GivesItsRatiosBesideTheVariants_AndTheMedianLatencyOfForwardCases()
    {
        // run-floor-ab.sh --control: a second floor (floor2) is measured like a variant, so its ratio to the floor is
        // the run's own noise. The relay's p50 is above the floor's in all four repetitions, floor2's in one.
        var raw = Raw(
            Window("forward-1x200", 1, "floor", 18, p50: 50, p99: 74), Window("forward-1x200", 1, "floor2", 18, p50: 50, p99: 74), Window("forward-1x200", 1, "relay", 19, p50: 52, p99: 77),
            Window("forward-1x200", 2, "floor", 18, p50: 50, p99: 74), Window("forward-1x200", 2, "floor2", 18, p50: 51, p99: 72), Window("forward-1x200", 2, "relay", 19, p50: 51, p99: 76),
            Window("forward-1x200", 3, "floor", 18, p50: 52, p99: 76), Window("forward-1x200", 3, "floor2", 18, p50: 50, p99: 78), Window("forward-1x200", 3, "relay", 19, p50: 53, p99: 77),
            Window("forward-1x200", 4, "floor", 18, p50: 50, p99: 75), Window("forward-1x200", 4, "floor2", 18, p50: 49, p99: 75), Window("forward-1x200", 4, "relay", 19, p50: 52, p99: 78));

        var report = await BenchmarkScripts.RunAsync("floor-ab-report.py", raw, "floor", "floor2", "relay");

        Assert.Contains("| case | figure | floor | floor2 | relay | floor2 ÷ floor | relay ÷ floor |", report, StringComparison.Ordinal);
        Assert.Contains("| forward-1x200 | p50 µs | 50.00 | 50.00 | 52.00 | 1.00× (0.99×, IQR 0.97–1.02×, above in 1 of 4) | 1.04× (1.03×, IQR 1.02–1.04×, above in 4 of 4) |", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_GivesTheUserTimePerUnit_FromTheWindowsMillisecondsAndUnits()
    {
        var raw = Raw(
            """{"case":"f","rep":1,"server":"floor","resident":1,"at":0,"result":{"serverCpuPerUnitUs":10,"serverUserMs":70,"units":100000}}""",
            """{"case":"f","rep":1,"server":"relay","resident":1,"at":0,"result":{"serverCpuPerUnitUs":12,"serverUserMs":210,"units":150000}}""");

        var report = await BenchmarkScripts.RunAsync("floor-ab-report.py", raw, "floor", "relay");

        Assert.Contains("| f | user/unit µs | 0.70 | 1.40 | 2.00× (2.00×) |", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_WithAFloorOfZero_LeavesTheRatioOut_InsteadOfFailing()
    {
        var raw = Raw(
            """{"case":"c","rep":1,"server":"floor","resident":0,"at":0,"result":{"serverCpuPerUnitUs":5,"serverSystemPerUnitUs":0}}""",
            """{"case":"c","rep":1,"server":"relay","resident":0,"at":0,"result":{"serverCpuPerUnitUs":6,"serverSystemPerUnitUs":1}}""");

        var report = await BenchmarkScripts.RunAsync("floor-ab-report.py", raw, "floor", "relay");

        Assert.Contains("| c | kernel/unit µs | 0.00 | 1.00 | – |", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_OfATracedRun_GivesTheServerPath_AndTheMedianOfEachPart()
    {
        var raw = Raw(
            Traced("floor", path: (4.0, 5.0), dispatch: 1.2, recv: 1.5, route: 1.2, after: 1.0),
            Traced("relay", path: (4.4, 6.5), dispatch: 1.45, recv: 1.6, route: 1.3, after: 1.4));

        var report = await BenchmarkScripts.RunAsync("floor-ab-report.py", raw, "floor", "relay");

        Assert.Contains("| f | server path p50 µs | 4.00 | 4.40 | 1.10× (1.10×) |", report, StringComparison.Ordinal);
        Assert.Contains("| f | server path p99 µs | 5.00 | 6.50 | 1.30× (1.30×) |", report, StringComparison.Ordinal);
        Assert.Contains("| f | · dispatch p50 µs | 1.20 | 1.45 | 1.21× (1.21×) |", report, StringComparison.Ordinal);
        Assert.Contains("| f | · recv p50 µs | 1.50 | 1.60 | 1.07× (1.07×) |", report, StringComparison.Ordinal);
        Assert.Contains("| f | · parse and route p50 µs | 1.20 | 1.30 | 1.08× (1.08×) |", report, StringComparison.Ordinal);
        Assert.Contains("| f | after the send p50 µs | 1.00 | 1.40 | 1.40× (1.40×) |", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_JudgesTheP99_FromTenPairs_WorseOnlyWhenTheWholeIntervalIsAboveTheFloor()
    {
        // Ten repetitions of forward-1x200 with the floor's p99 at 100 µs: the relay within ±4 % of it, a slow variant
        // 7–13 % above in every one; forward-10x200 has only three, too few to judge either.
        var (relay, slow) = (P99Samples.Within, P99Samples.Above);
        var lines = Enumerable.Range(0, 10).SelectMany(i => new[]
        {
            Window("forward-1x200", i + 1, "floor", 10, p99: 100), Window("forward-1x200", i + 1, "relay", 10, p99: relay[i]),
            Window("forward-1x200", i + 1, "slow", 10, p99: slow[i]),
        }).Concat(Enumerable.Range(1, 3).SelectMany(rep => new[]
        {
            Window("forward-10x200", rep, "floor", 10, p99: 100), Window("forward-10x200", rep, "relay", 10, p99: 101),
            Window("forward-10x200", rep, "slow", 10, p99: 110),
        }));

        var report = await BenchmarkScripts.RunAsync("floor-ab-report.py", Raw([.. lines]), "floor", "relay", "slow");

        // The interval is a bootstrap of the median with a fixed seed: the same raw lines, the same report.
        Assert.Contains("- forward-1x200, relay: median paired ratio 1.005× (90 % CI 0.990–1.020×, 10 pairs): no worse than the floor (at most 2.0 % above)", report, StringComparison.Ordinal);
        Assert.Contains("- forward-1x200, slow: median paired ratio 1.105× (90 % CI 1.090–1.115×, 10 pairs): **worse than the floor** (at least 9.0 % above)", report, StringComparison.Ordinal);
        Assert.Contains("- forward-10x200, relay: 3 paired repetitions, too few to judge (at least 10)", report, StringComparison.Ordinal);
        Assert.Contains("- forward-10x200, slow: 3 paired repetitions, too few to judge (at least 10)", report, StringComparison.Ordinal);
    }

    /// <summary>A raw line of a traced forward window (run-floor-ab.sh --trace): server-path.py's parts, p50 (and p99 for the whole path).</summary>
    private static string Traced(string server, (double P50, double P99) path, double dispatch, double recv, double route, double after)
    {
        static string Part(string name, double p50, double p99) => $$"""
            "{{name}}":{"count":100,"p50Us":{{p50}},"p90Us":{{p50}},"p99Us":{{p99}},"meanUs":{{p50}}}
            """;
        var parts = string.Join(',', Part("wait→recv", dispatch, dispatch), Part("recv", recv, recv), Part("recv→send", route, route),
            Part("wait→send", path.P50, path.P99), Part("send→wait", after, after));
        return $$"""{"case":"f","rep":1,"server":"{{server}}","resident":1,"at":0,"result":{"serverCpuPerUnitUs":10},"path":{"server":"{{server}}","parts":{""" + parts + "}}}";
    }

    /// <summary>One raw line of run-floor-ab.sh: a window of <paramref name="server"/> in repetition <paramref name="rep"/>.</summary>
    private static string Window(string @case, int rep, string server, double cpu, double? p99 = null, double? rss = null, bool resident = false, double? p50 = null)
    {
        var fields = $"\"serverCpuPerUnitUs\":{cpu}"
            + (p50 is { } median ? $",\"latencyP50Us\":{median}" : string.Empty)
            + (p99 is { } latency ? $",\"latencyP99Us\":{latency}" : string.Empty)
            + (rss is { } perClient ? $",\"rssPerClientKiB\":{perClient}" : string.Empty);
        return $$"""{"case":"{{@case}}","rep":{{rep}},"server":"{{server}}","resident":{{(resident ? 1 : 0)}},"at":0,"result":{""" + fields + "}}";
    }

    private string Raw(params string[] lines) => _directory.WriteFile("floor-ab.jsonl", string.Join('\n', lines));
}
