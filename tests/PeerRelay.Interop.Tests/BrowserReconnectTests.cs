using System.Net;
using System.Net.Sockets;
using PeerRelay.Protocol;
using PeerRelay.Testing;

namespace PeerRelay.Interop.Tests;

/// <summary>peerrelay.js in headless Chromium: reconnects after the relay restarts, gives up for good on 4004.</summary>
public sealed class BrowserReconnectTests
{
    [Fact]
    public async Task PeerRelayJs_RelayRestarts_ReconnectsAndRegistersAgain_ThenStopsOn4004()
    {
        InteropPeers.RequireBrowser();
        var relay = await RelayTestServer.StartAsync();
        var port = relay.Uri.Port;
        var pageId = Guid.NewGuid();
        var artifacts = InteropPaths.Artifacts(nameof(PeerRelayJs_RelayRestarts_ReconnectsAndRegistersAgain_ThenStopsOn4004));
        try
        {
            await using var browser = InteropPeers.StartBrowser("reconnect", relay.Uri, artifacts, "--uuid", pageId.ToString());
            await browser.WaitForLineAsync(l => l.Contains("\"count\":1", StringComparison.Ordinal), "first registration");

            // Graceful stop closes the page's socket with 1001; a new relay on the same port must see it come back.
            await relay.DisposeAsync();
            relay = await RelayTestServer.StartAsync(port: port);
            await browser.WaitForLineAsync(l => l.Contains("\"count\":2", StringComparison.Ordinal), "registration after the restart");

            // Taking over the page's UUID closes the page with 4004, after which it must not reconnect.
            await using (var usurper = await TestRelayClient.ConnectAsync(relay.Uri))
            {
                await usurper.RegisterAsync(pageId);
                var page = (await InteropPeers.SucceedsAsync(browser))["chromium"]!.AsObject();

                Assert.Equal("closed", (string)page["relayState"]!);
                Assert.Equal("Connect to relay", (string)page["registerButton"]!);
                Assert.Equal(2, (int)page["registrations"]!);
                var disconnects = page["disconnects"]!.AsArray();
                var first = disconnects[0]!.AsObject();
                Assert.False((bool)first["final"]!);
                Assert.True((int)first["retryInMs"]! > 0);
                var last = disconnects[^1]!.AsObject();
                Assert.Equal(RelayCloseCodes.DuplicateRegistration, (int)last["code"]!);
                Assert.True((bool)last["final"]!);
                Assert.Null(last["retryInMs"]);
            }
        }
        finally
        {
            await relay.DisposeAsync();
        }
    }

    [Fact]
    public async Task DemoPage_RelayUnreachable_ShowsConnectionFailureAndReconnects()
    {
        InteropPeers.RequireBrowser();
        await using var relay = await RelayTestServer.StartAsync();
        var closedPort = ClosedPort();
        var artifacts = InteropPaths.Artifacts(nameof(DemoPage_RelayUnreachable_ShowsConnectionFailureAndReconnects));

        await using var browser = InteropPeers.StartBrowser(
            "unreachable", relay.Uri, artifacts, "--relay-address", $"ws://127.0.0.1:{closedPort}/");
        var page = (await InteropPeers.SucceedsAsync(browser))["chromium"]!.AsObject();

        Assert.Equal("reconnecting", (string)page["status"]!);
        var failure = page["disconnects"]!.AsArray()[0]!.AsObject();
        Assert.Equal(1006, (int)failure["code"]!);
        Assert.False((bool)failure["final"]!);
        Assert.Contains(page["steps"]!.AsArray(), s => ((string)s!).StartsWith("relay closed the connection: 1006", StringComparison.Ordinal));
        Assert.False((bool)page["registered"]!);
    }

    // A port nothing listens on: bound, read and released.
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
