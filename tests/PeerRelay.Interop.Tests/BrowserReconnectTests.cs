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
}
