using System.Diagnostics;
using System.Globalization;
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
    public async Task Wss_AgainstPeerRelayServingAPemCertificate_ConnectsAndForwardsOverTls13()
    {
        using var directory = new TempDirectory();
        using var certificate = TestCertificate.Create(directory.Path);
        await using var relay = await RelayProcess.StartServeAsync(["--config", LoadTestConfig(directory, $"certfile = '{certificate.CertPath}'\nkeyfile = '{certificate.KeyPath}'")]);
        Assert.Equal("wss", relay.Uri!.Scheme);
        var pid = relay.ProcessId.ToString(CultureInfo.InvariantCulture);

        var connect = await RunAsync("connect", "--clients", "20", "--hold", "0", "--url", relay.Uri.ToString(), "--ca", certificate.CertPath, "--server-pid", pid);
        Assert.Equal(20, connect.GetProperty("units").GetInt64());
        Assert.Equal(0, connect.GetProperty("errors").GetInt64());
        Assert.True(connect.GetProperty("forwardCheck").GetBoolean());
        Assert.StartsWith("Tls13 TLS_", connect.GetProperty("tls").GetString(), StringComparison.Ordinal);
        Assert.True(connect.GetProperty("rssAfterKiB").GetInt64() > 0);

        var forward = await RunAsync("forward", "--pairs", "1", "--seconds", "1", "--warmup", "0.2", "--url", relay.Uri.ToString(), "--ca", certificate.CertPath);
        Assert.Equal(0, forward.GetProperty("errors").GetInt64());
        Assert.True(forward.GetProperty("units").GetInt64() > 0, "no message went round over TLS");
    }

    [Fact]
    public async Task Wss_CertificateNotTrusted_EveryHandshakeFailsAndTheRunFails()
    {
        using var directory = new TempDirectory();
        using var certificate = TestCertificate.Create(directory.Path);
        using var other = TestCertificate.Create(directory.Path, "other");
        await using var relay = await RelayProcess.StartServeAsync(["--config", LoadTestConfig(directory, $"certfile = '{certificate.CertPath}'\nkeyfile = '{certificate.KeyPath}'")]);

        // Neither the system's roots nor another certificate given with --ca vouch for the relay's.
        foreach (string[] trust in (string[][])[[], ["--ca", other.CertPath]])
        {
            var (code, stdout, stderr) = await StartAsync(["connect", "--clients", "3", "--hold", "0", "--url", relay.Uri!.ToString(), .. trust, "--json-only"]);
            Assert.True(code == 1, $"exit code {code}\nstdout: {stdout}\nstderr: {stderr}");
            var report = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
            Assert.Equal(3, report.GetProperty("errors").GetInt64());
            Assert.Equal(0, report.GetProperty("units").GetInt64());
            Assert.Contains("AuthenticationException", report.GetProperty("firstError").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Wss_ThroughTheShippedNginx_EveryConnectIsAFullHandshake_UnlessTlsResumeIsGiven()
    {
        using var directory = new TempDirectory();
        using var certificate = TestCertificate.Create(directory.Path, "nginx");
        await using var relay = await RelayProcess.StartServeAsync(["--config", LoadTestConfig(directory, "trusted_proxies = [\"127.0.0.1\"]")]);
        await using var nginx = await ShippedNginx.StartAsync(directory, relay.Port, certificate);
        var url = $"wss://localhost:{nginx.Port}/";

        // Churn: connect after connect to the same server, where a client that kept sessions would resume them.
        var full = await RunAsync("churn", "--concurrency", "2", "--seconds", "1", "--warmup", "0.2", "--url", url, "--ca", certificate.CertPath);
        Assert.Equal(0, full.GetProperty("errors").GetInt64());
        var cycles = full.GetProperty("units").GetInt64();
        Assert.True(cycles > 2, $"only {cycles} cycles");

        // nginx logs a WebSocket when it ends; the run's last ones may still be closing.
        await TaskTimeoutExtensions.WaitUntil(() => WebSockets(nginx).Length >= cycles + 2, Timeout);
        var logged = WebSockets(nginx);
        Assert.All(logged, line => Assert.EndsWith(" reused=.", line, StringComparison.Ordinal));

        var resumed = await RunAsync("churn", "--concurrency", "2", "--seconds", "1", "--warmup", "0.2", "--url", url, "--ca", certificate.CertPath, "--tls-resume");
        Assert.Equal(0, resumed.GetProperty("errors").GetInt64());
        await TaskTimeoutExtensions.WaitUntil(() => WebSockets(nginx).Any(line => line.EndsWith(" reused=r", StringComparison.Ordinal)), Timeout);

        static string[] WebSockets(ShippedNginx nginx) =>
            File.ReadAllLines(nginx.AccessLogPath).Where(line => line.Contains("\" 101 TLSv1.3 ", StringComparison.Ordinal)).ToArray();
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

    /// <summary>Writes the relay's configuration for a load test (<see cref="LoadTestLimits"/> as TOML) with <paramref name="more"/> keys.</summary>
    private static string LoadTestConfig(TempDirectory directory, string more) =>
        directory.WriteFile("relay.toml", $"message_rate = 0\nnew_connection_rate = 0\n{more}\n");

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
