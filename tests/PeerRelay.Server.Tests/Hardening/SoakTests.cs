using System.Globalization;
using Xunit.Abstractions;

namespace PeerRelay.Server.Tests.Hardening;

/// <summary>
/// The short soak of the suite (a few seconds). <c>benchmarks/soak.sh [seconds]</c> runs the same test for longer
/// (<c>PEERRELAY_SOAK_SECONDS</c>, default 300 there) and records the result (<c>PEERRELAY_SOAK_RESULT</c>).
/// </summary>
/// <remarks>Runs alone (its own collection, not parallel): it compares the process's managed heap before and after.</remarks>
[Collection(SoakRunsAlone.Name)]
public sealed class SoakTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Soak_ChurnAndSteadyPairs_NothingLeftNothingLost()
    {
        var seconds = int.Parse(Environment.GetEnvironmentVariable("PEERRELAY_SOAK_SECONDS") ?? "5", CultureInfo.InvariantCulture);
        var run = new SoakRun
        {
            Duration = TimeSpan.FromSeconds(seconds),
            StablePairs = seconds > 60 ? 250 : 25,
            ChurnWorkers = seconds > 60 ? 16 : 4,
            Log = output.WriteLine,
        };
        var result = await run.RunAsync();
        var table = result.ToMarkdown();
        output.WriteLine(table);
        if (Environment.GetEnvironmentVariable("PEERRELAY_SOAK_RESULT") is { Length: > 0 } path)
        {
            await File.AppendAllTextAsync(path, table);
        }

        Assert.True(result.ChurnCycles > 0);
        Assert.Equal(0, result.StableMessagesLost);
        Assert.Equal(0, result.StableOutOfOrder);
        Assert.Equal(0, result.StableReconnects);
        Assert.Equal(0, result.RegisteredLeft);
        Assert.Equal(0, result.ConnectionsLeft);

        // No limit tripped by honest traffic under the default limits.
        Assert.DoesNotContain(result.Counters.Keys, k => k.StartsWith("peerrelay.limits.hit", StringComparison.Ordinal));

        // Leak check, loose on purpose (GC heap sizes vary): thousands of connections came and went.
        Assert.True(
            result.EndManagedBytes < result.BaselineManagedBytes + (64L << 20),
            $"managed heap grew from {result.BaselineManagedBytes} to {result.EndManagedBytes} bytes");
    }
}
