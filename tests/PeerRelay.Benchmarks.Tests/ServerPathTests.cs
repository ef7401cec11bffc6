using System.Text.Json;
using PeerRelay.Testing;

namespace PeerRelay.Benchmarks.Tests;

/// <summary>
/// <c>benchmarks/server-path.py</c>: the server's own part of a message's one hop, from the system calls
/// <c>perf script</c> prints for its event loop (what <c>run-floor-ab.sh --trace</c> records).
/// </summary>
public sealed class ServerPathTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task EachForwardIsTimedFromTheLoopsWakeUp_ToItsSend_OnTheBusiestThreadOnly()
    {
        var trace = _directory.WriteFile("trace.txt", string.Join('\n',
            // Turn 1: one message. Woken at 0; recv at 1.0 µs, back at 2.0; its forward sent at 3.5 (back at 11.0); epoll_wait at 12.0.
            "  100 1000.000000000:  raw_syscalls:sys_exit: NR 232 = 1",
            "  100 1000.000001000: raw_syscalls:sys_enter: NR 45 (cc, 7f53, 1000, 0, 0, 0)",
            "  100 1000.000002000:  raw_syscalls:sys_exit: NR 45 = 257",
            "  100 1000.000003500: raw_syscalls:sys_enter: NR 44 (c3, 7f53, fd, 4000, 0, 0)",
            "  100 1000.000011000:  raw_syscalls:sys_exit: NR 44 = 253",
            "  100 1000.000012000: raw_syscalls:sys_enter: NR 232 (5, 7f53, 100, ffffffff, 0, 0)",
            // Turn 2: two messages; only the first counts from the wake-up (wait→send 5.0), both count recv and recv→send
            // (the second recv takes 1.5).
            "  100 1000.000050000:  raw_syscalls:sys_exit: NR 232 = 2",
            "  100 1000.000052000: raw_syscalls:sys_enter: NR 45 (cc, 7f53, 1000, 0, 0, 0)",
            "  100 1000.000053000:  raw_syscalls:sys_exit: NR 45 = 257",
            "  100 1000.000055000: raw_syscalls:sys_enter: NR 44 (c3, 7f53, fd, 4000, 0, 0)",
            "  100 1000.000060000:  raw_syscalls:sys_exit: NR 44 = 253",
            "  100 1000.000060500: raw_syscalls:sys_enter: NR 45 (cd, 7f53, 1000, 0, 0, 0)",
            "  100 1000.000062000:  raw_syscalls:sys_exit: NR 45 = 257",
            "  100 1000.000063000: raw_syscalls:sys_enter: NR 44 (c4, 7f53, fd, 4000, 0, 0)",
            "  100 1000.000068000:  raw_syscalls:sys_exit: NR 44 = 253",
            "  100 1000.000069500: raw_syscalls:sys_enter: NR 232 (5, 7f53, 100, ffffffff, 0, 0)",
            // Another thread of the process (a timer): fewer events, not the loop, left out.
            "  200 1000.000070000:  raw_syscalls:sys_exit: NR 232 = 1",
            "  200 1000.000070100: raw_syscalls:sys_enter: NR 45 (cc, 7f53, 1000, 0, 0, 0)",
            "  200 1000.000070200:  raw_syscalls:sys_exit: NR 45 = 1",
            "  200 1000.000099000: raw_syscalls:sys_enter: NR 44 (c3, 7f53, fd, 4000, 0, 0)",
            "garbage that is not a system call"));

        var output = await BenchmarkScripts.RunAsync("server-path.py", "relay", trace);

        using var json = JsonDocument.Parse(output);
        Assert.Equal("relay", json.RootElement.GetProperty("server").GetString());
        var parts = json.RootElement.GetProperty("parts");
        AssertPart(parts, "wait→send", count: 2, p50: 5.0, p99: 5.0, mean: 4.25);
        AssertPart(parts, "wait→recv", count: 2, p50: 2.0, p99: 2.0, mean: 1.5);
        AssertPart(parts, "recv", count: 3, p50: 1.0, p99: 1.5, mean: 1.167);
        AssertPart(parts, "recv→send", count: 3, p50: 1.5, p99: 2.0, mean: 1.5);
        AssertPart(parts, "send→wait", count: 2, p50: 1.5, p99: 1.5, mean: 1.25);
    }

    private static void AssertPart(JsonElement parts, string name, int count, double p50, double p99, double mean)
    {
        var part = parts.GetProperty(name);
        Assert.Equal(count, part.GetProperty("count").GetInt32());
        Assert.Equal(p50, part.GetProperty("p50Us").GetDouble(), 3);
        Assert.Equal(p99, part.GetProperty("p99Us").GetDouble(), 3);
        Assert.Equal(mean, part.GetProperty("meanUs").GetDouble(), 3);
    }
}
