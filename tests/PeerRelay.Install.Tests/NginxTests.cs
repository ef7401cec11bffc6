using System.Globalization;
using System.Net;
using PeerRelay.Testing;

namespace PeerRelay.Install.Tests;

/// <summary>
/// Debian's nginx with deploy/nginx/peerrelay.conf in front of the real <c>peerrelay serve</c>: clients reach the relay
/// through nginx's TLS; the relay logs and limits each client by the address nginx saw (127.0.0.2, 127.0.0.3, ...:
/// every 127.x address is loopback), not by nginx's own or one a client claims; and an upgrade that arrives while
/// the relay drains is closed with 1013, which clients retry.
/// </summary>
public sealed class NginxTests : IDisposable
{
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task ThroughNginx_ClientsRelay_ByTheirRealAddress_PerIpLimitHolds_AndDrainClosesLateUpgradesWith1013()
    {
        var config = _directory.WriteFile("relay.toml", string.Create(CultureInfo.InvariantCulture, $"""
            trusted_proxies = ["127.0.0.1"]
            max_connections_per_ip = 1
            close_timeout = {CloseTimeout.TotalSeconds}
            """));
        await using var relay = await RelayProcess.StartServeAsync(["--config", config]);
        using var certificate = TestCertificate.Create(_directory.Path, "nginx");
        await using var nginx = await ShippedNginx.StartAsync(_directory, relay.Port, certificate);
        var front = new Uri($"wss://localhost:{nginx.Port}/");

        // A client through nginx, claiming another address: the relay serves it and logs the address nginx saw.
        var alice = Guid.NewGuid();
        await using var a = await ConnectAsync(front, "127.0.0.2", certificate, spoofedForwardedFor: "203.0.113.9");
        await a.RegisterAsync(alice, "alice");
        await a.SendTextAsync(TestRelayClient.PeerConnection(alice, alice, "through nginx", sourceName: "alice"));
        Assert.Equal("through nginx", (await a.ReceiveJsonAsync())["description"]!.GetValue<string>());
        await relay.WaitForLineAsync(l => l.Contains($"Registered client {alice} (alice) of user ", StringComparison.Ordinal) && l.Contains(" from 127.0.0.2:", StringComparison.Ordinal));
        Assert.DoesNotContain("203.0.113.9", relay.Output, StringComparison.Ordinal);

        // max_connections_per_ip = 1 counts 127.0.0.2, not nginx: a second connection from it is refused with 1013,
        // one from 127.0.0.3 (through the same nginx) is not.
        await using (var second = await ConnectAsync(front, "127.0.0.2", certificate))
        {
            Assert.Equal(1013, (await second.ReceiveCloseAsync()).Code);
        }

        await relay.WaitForLineAsync(l => l.Contains("Refused a connection from 127.0.0.2: it holds max_connections_per_ip (1)", StringComparison.Ordinal));
        await using var b = await ConnectAsync(front, "127.0.0.3", certificate);
        await b.RegisterAsync(Guid.NewGuid(), "bob");

        // Drain: SIGTERM closes the clients with 1001. Bob never reads, so never answers the close: the relay waits up
        // to close_timeout for him and, meanwhile, accepts a late upgrade only to close it with 1013.
        relay.Terminate();
        Assert.Equal(1001, (await a.ReceiveCloseAsync()).Code);
        await using (var late = await ConnectAsync(front, "127.0.0.4", certificate))
        {
            await late.SendTextAsync(TestRelayClient.Registration(Guid.NewGuid()));
            Assert.Equal(1013, (await late.ReceiveCloseAsync()).Code);
        }

        Assert.Equal(0, await relay.WaitForExitAsync(CloseTimeout + TimeSpan.FromSeconds(20)));
    }

    private static Task<TestRelayClient> ConnectAsync(Uri front, string from, TestCertificate certificate, string? spoofedForwardedFor = null) =>
        TestRelayClient.ConnectFromAsync(
            front,
            IPAddress.Parse(from),
            certificate.IsThisCertificate,
            spoofedForwardedFor is null ? null : new Dictionary<string, string> { ["X-Forwarded-For"] = spoofedForwardedFor });
}
