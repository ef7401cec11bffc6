using System.Net.WebSockets;
using PeerRelay.Configuration;
using PeerRelay.Testing;

namespace PeerRelay.Tests;

/// <summary>The limit keys of issue 7: read from the file, validated, and in force in the real process.</summary>
public sealed class LimitsConfigTests
{
    [Fact]
    public void LimitKeys_AreRead()
    {
        var config = RelayConfigLoader.Parse("""
            max_connections = 20000
            max_connections_per_ip = 1024
            trusted_proxies = ["10.0.0.0/8", "192.0.2.7"]
            max_clients_per_user = 50
            registration_timeout = 12.5
            handshake_timeout = 3
            message_rate = 20
            message_burst = 100
            message_rate_sustained = 4.5
            new_connection_rate = 12.5
            new_connection_burst = 40
            abuse_penalty = 2.5
            slow_reader_timeout = 3
            """, "relay.toml");
        var server = config.Server;
        Assert.Equal(20000, server.MaxConnections);
        Assert.Equal(1024, server.MaxConnectionsPerIp);
        Assert.Equal(["10.0.0.0/8", "192.0.2.7"], server.TrustedProxies);
        Assert.Equal(50, server.MaxClientsPerUser);
        Assert.Equal(TimeSpan.FromSeconds(12.5), server.RegistrationTimeout);
        Assert.Equal(TimeSpan.FromSeconds(3), server.HandshakeTimeout);
        Assert.Equal(20, server.MessageRate);
        Assert.Equal(100, server.MessageBurst);
        Assert.Equal(TimeSpan.FromSeconds(4.5), server.MessageRateSustained);
        Assert.Equal(12.5, server.NewConnectionRate);
        Assert.Equal(40, server.NewConnectionBurst);
        Assert.Equal(TimeSpan.FromSeconds(2.5), server.AbusePenalty);
        Assert.Equal(TimeSpan.FromSeconds(3), server.SlowReaderTimeout);
    }

    [Theory]
    [InlineData("max_connections = 0", "max_connections: 0 is not allowed")]
    [InlineData("max_connections_per_ip = -5", "max_connections_per_ip: -5 is not allowed")]
    [InlineData("trusted_proxies = [\"10.0.0.0/99\"]", "trusted_proxies: '10.0.0.0/99' is not an IP address or CIDR network")]
    [InlineData("max_clients_per_user = 0", "max_clients_per_user: 0 is not allowed")]
    [InlineData("registration_timeout = -1", "registration_timeout: -1 is not allowed")]
    [InlineData("handshake_timeout = 0", "handshake_timeout: 0 is not allowed")]
    [InlineData("message_rate = -1", "message_rate: -1 is not allowed")]
    [InlineData("message_burst = 0", "message_burst: 0 is not allowed")]
    [InlineData("message_rate_sustained = 0", "message_rate_sustained: 0 is not allowed")]
    [InlineData("new_connection_rate = -1", "new_connection_rate: -1 is not allowed")]
    [InlineData("new_connection_burst = 0", "new_connection_burst: 0 is not allowed")]
    [InlineData("abuse_penalty = -1", "abuse_penalty: -1 is not allowed")]
    [InlineData("slow_reader_timeout = -1", "slow_reader_timeout: -1 is not allowed")]
    public void BadLimit_StopsWithTheKeyNamed(string toml, string expected)
    {
        var error = Assert.Throws<RelayConfigException>(() => RelayConfigLoader.Parse(toml, "relay.toml"));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_LimitsFromTheFile_AreInForce()
    {
        using var directory = new TempDirectory();
        var file = Path.Combine(directory.Path, "relay.toml");
        await File.WriteAllTextAsync(file, """
            max_connections_per_ip = 1
            registration_timeout = 3
            """);
        await using var relay = await RelayProcess.StartServeAsync(["--config", file]);

        // A registered client holds the address's only slot (the deadline does not touch it): the next is closed with
        // 1013. The deadline is long enough for a loaded CI machine to connect and register within it.
        var registered = await TestRelayClient.ConnectAsync(relay.Uri!);
        await registered.RegisterAsync(Guid.NewGuid());
        await using (var second = await TestRelayClient.ConnectAsync(relay.Uri!))
        {
            Assert.Equal(1013, (await second.ReceiveCloseAsync()).Code);
        }

        await registered.CloseAsync();
        await registered.DisposeAsync();

        // Once it left, a client that never registers gets in and is closed at the deadline. Until the relay has
        // released the first slot, a new connection is refused with 1013 (accepted, then closed): poll, as WaitUntil
        // does. (Polling only for a failed connect raced: a refusal is now a close, not a failed handshake.)
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            int code;
            string reason;
            await using (var idle = await TestRelayClient.ConnectAsync(relay.Uri!))
            {
                (code, reason) = await idle.ReceiveCloseAsync();
            }

            if (code == 1013 && waited.Elapsed < TaskTimeoutExtensions.DefaultTimeout)
            {
                await Task.Delay(10);
                continue;
            }

            Assert.Equal(1008, code);
            Assert.Equal("Registration deadline passed.", reason);
            break;
        }
    }

    [Fact]
    public async Task Serve_Sigterm_ClosesClientsWith1001AndExitsZero()
    {
        await using var relay = await RelayProcess.StartServeAsync();
        await using var client = await TestRelayClient.ConnectAsync(relay.Uri!);
        await client.RegisterAsync(Guid.NewGuid());

        relay.Terminate();
        var (code, _) = await client.ReceiveCloseAsync();
        Assert.Equal(1001, code);
        Assert.Equal(0, await relay.WaitForExitAsync());
    }
}
