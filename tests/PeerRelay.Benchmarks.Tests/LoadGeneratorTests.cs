using System.Diagnostics;
using System.Text.Json;
using PeerRelay.Testing;

namespace PeerRelay.Benchmarks.Tests;

/// <summary>Runs the load generator as a real process against a real relay for a second or so; checks it works, not how fast.</summary>
public class LoadGeneratorTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ForwardRunCompletesWithLatenciesAndServerCpu()
    {
        await using var server = await RelayTestServer.StartAsync(LoadTestLimits);

        var report = await RunAsync("forward", "--pairs", "1", "--seconds", "1", "--warmup", "0.2", "--url", server.Uri.ToString(), "--server-pid", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(0, report.GetProperty("errors").GetInt64());
        Assert.True(report.GetProperty("units").GetInt64() > 0, "no message went round");
        Assert.True(report.GetProperty("latencyP50Us").GetDouble() > 0);
        Assert.True(report.GetProperty("latencyMaxUs").GetDouble() >= report.GetProperty("latencyP99Us").GetDouble());
        Assert.True(report.TryGetProperty("serverCpuPerUnitUs", out _));
    }

    [Fact]
    public async Task ConnectSplitOverTwoProcessesAndTwoSourceAddressesRegistersEveryClient()
    {
        await using var server = await RelayTestServer.StartAsync(LoadTestLimits);

        var report = await RunAsync("connect", "--clients", "40", "--procs", "2", "--sources", "2", "--hold", "0", "--url", server.Uri.ToString(), "--server-pid", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(40, report.GetProperty("units").GetInt64());
        Assert.Equal(0, report.GetProperty("errors").GetInt64());
        Assert.True(report.GetProperty("forwardCheck").GetBoolean());
        Assert.True(report.GetProperty("rssAfterKiB").GetInt64() > 0);
    }

    [Fact]
    public async Task ChurnRunCompletesCycles()
    {
        await using var server = await RelayTestServer.StartAsync(LoadTestLimits);

        var report = await RunAsync("churn", "--concurrency", "2", "--seconds", "1", "--warmup", "0.2", "--url", server.Uri.ToString());

        Assert.Equal(0, report.GetProperty("errors").GetInt64());
        Assert.True(report.GetProperty("units").GetInt64() > 0, "no cycle completed");
    }

    [Fact]
    public async Task AbuseRunMeasuresHonestPairsBeforeAndDuringAnAttackFromAChildProcess()
    {
        // The relay's defaults, as the abuse benchmark runs it; the abusers connect from 127.0.0.2.
        await using var server = await RelayTestServer.StartAsync();

        var report = await RunAsync(
            "abuse", "--attack", "unknown-peer", "--pairs", "2", "--rate", "20", "--warmup", "0.2", "--baseline", "0.5", "--seconds", "1", "--settle", "0.5",
            "--url", server.Uri.ToString(), "--server-pid", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.True(report.GetProperty("baselineHops").GetInt64() > 0, "no honest message before the attack");
        Assert.True(report.GetProperty("attackHops").GetInt64() > 0, "no honest message during the attack");
        Assert.True(report.GetProperty("abuserConnects").GetInt64() > 0, $"no abuser connected: {report}");
        Assert.True(report.GetProperty("abuserMessages").GetInt64() > 0, "the abusers sent nothing");
        Assert.True(report.GetProperty("rssAfterKiB").GetInt64() > 0);
    }

    [Fact]
    public async Task BadOptionsAreRefusedWithUsage()
    {
        var (code, _, stderr) = await StartAsync("forward", "--pairs", "zero");

        Assert.Equal(2, code);
        Assert.Contains("--pairs must be an integer", stderr, StringComparison.Ordinal);
    }

    /// <summary>A load test exceeds by design the per-connection message rate and the per-address connection rate.</summary>
    private static void LoadTestLimits(PeerRelay.Server.RelayServerOptions o)
    {
        o.MessageRate = 0;
        o.NewConnectionRate = 0;
    }

    private static async Task<JsonElement> RunAsync(params string[] args)
    {
        var (code, stdout, stderr) = await StartAsync([.. args, "--json-only"]);
        Assert.True(code == 0, $"load generator exited with {code}\nstdout: {stdout}\nstderr: {stderr}");
        var json = stdout.Trim().Split('\n')[^1];
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    private static async Task<(int Code, string Stdout, string Stderr)> StartAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "PeerRelay.LoadTest.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WithTimeout(Timeout);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
