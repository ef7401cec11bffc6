using PeerRelay.Logging;
using PeerRelay.Testing;

namespace PeerRelay.Tests;

/// <summary>The real <c>peerrelay</c> process, started from the build output.</summary>
public sealed class ProcessTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Serve_RelaysBetweenClients_AndSigtermClosesThemWith1001_AndExits0()
    {
        var logs = _directory.File("logs");
        await using var relay = await RelayProcess.StartServeAsync(["--log-dir", logs]);
        await using var a = await TestRelayClient.ConnectAsync(relay.Uri!);
        await using var b = await TestRelayClient.ConnectAsync(relay.Uri!);
        var (ua, ub) = (Guid.NewGuid(), Guid.NewGuid());
        await a.RegisterAsync(ua, "a");
        await b.RegisterAsync(ub, "b");
        await a.SendTextAsync(TestRelayClient.PeerConnection(ua, ub, "offer-sdp", sourceName: "a"));
        Assert.Equal("offer-sdp", (await b.ReceiveJsonAsync())["description"]!.GetValue<string>());

        relay.Terminate();

        Assert.Equal((1001, "Server is shutting down."), await a.ReceiveCloseAsync());
        Assert.Equal(1001, (await b.ReceiveCloseAsync()).Code);
        Assert.Equal(0, await relay.WaitForExitAsync(TimeSpan.FromSeconds(15)));

        var logFile = Path.Combine(logs, WeeklyLogFile.NameFor(DateTimeOffset.UtcNow));
        Assert.True(File.Exists(logFile), $"no log file {logFile}; output:\n{relay.Output}");
        var log = await File.ReadAllTextAsync(logFile);
        Assert.Contains($"PeerRelay listening on ws://127.0.0.1:{relay.Port}", log, StringComparison.Ordinal);
        Assert.Contains("closing 2 clients with 1001", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigint_StopsTheRelay_WithExitCode0()
    {
        await using var relay = await RelayProcess.StartServeAsync();
        await using var client = await TestRelayClient.ConnectAsync(relay.Uri!);
        await client.RegisterAsync(Guid.NewGuid());

        // What a terminal gives the relay, even when this suite runs as a background job that ignores SIGINT.
        Assert.False(IgnoresSigint(relay.ProcessId), "the relay was started with SIGINT ignored");
        relay.Interrupt();

        Assert.Equal(1001, (await client.ReceiveCloseAsync()).Code);
        Assert.Equal(0, await relay.WaitForExitAsync(TimeSpan.FromSeconds(15)));
    }

    private static bool IgnoresSigint(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        var mask = ulong.Parse(line["SigIgn:".Length..].Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        return (mask & (1UL << (2 - 1))) != 0;
    }

    [Fact]
    public async Task ConfigFile_WithTheReferenceDocNames_IsUsed_AndUnknownKeysAreWarned()
    {
        var config = _directory.WriteFile("relay.toml", """
            port = 1
            flavour = "vanilla"

            [logging]
            default_log_level = "info"
            websockets_log_level = "warning"
            connected_client_logging_interval = 0.2
            connected_client_logging_limit = 32
            """);
        await using var relay = await RelayProcess.StartServeAsync(["--config", config]);
        await using var client = await TestRelayClient.ConnectAsync(relay.Uri!);
        var uuid = Guid.NewGuid();
        await client.RegisterAsync(uuid, "endpoint");

        await relay.WaitForLineAsync(line => line.Contains("Connected clients: 1", StringComparison.Ordinal));
        await relay.WaitForLineAsync(line => line.Contains($"{uuid} (endpoint)", StringComparison.Ordinal));
        Assert.Contains($"WARNING [PeerRelay.Startup] {config}: unknown key \"flavour\" is ignored", relay.Output, StringComparison.Ordinal);
        await client.CloseAsync();
        Assert.Equal(0, await relay.StopAsync());
    }

    [Fact]
    public async Task BadConfig_ExitsWith2_BeforeListening()
    {
        var config = _directory.WriteFile("relay.toml", "[logging]\ncurrent_client_limit = \"many\"\n");

        var (code, output) = await RelayProcess.RunAsync("serve", "--config", config, "--host", "127.0.0.1", "--port", "0");

        Assert.Equal(2, code);
        Assert.Contains($"peerrelay: error: {config}: logging.current_client_limit: \"many\" is not allowed", output, StringComparison.Ordinal);
        Assert.DoesNotContain("listening", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PortInUse_PrintsOneClearLine_NoStackTrace_Exits1()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;

        var (code, output) = await RelayProcess.RunAsync("serve", "--host", "127.0.0.1", "--port", $"{port}");

        Assert.Equal(1, code);
        Assert.Equal(
            $"peerrelay: error: cannot listen: Failed to bind to address http://127.0.0.1:{port}: address already in use.",
            output.Trim());
    }

    [Fact]
    public async Task Version_PrintsTheAssemblyVersion()
    {
        var (code, output) = await RelayProcess.RunAsync("--version");

        Assert.Equal(0, code);
        Assert.Matches(@"^\d+\.\d+\.\d+", output.Trim());
    }
}
