using PeerRelay.Testing;

namespace PeerRelay.Interop.Tests;

/// <summary>
/// Headless Chromium (playwright-core) on the real <c>peerrelay serve</c>'s <c>/admin</c> dashboard: it asks for the token,
/// shows the clients the test connects, its Kick button closes one with 1008, and its messages chart moves while two
/// clients talk. Screenshots land in .test-output/artifacts/interop (the ones in docs/images come from this test).
/// </summary>
public sealed class AdminDashboardTests
{
    private const string Token = "dashboard-test-token-0123456789";

    [Fact]
    public async Task Dashboard_ShowsClients_KickClosesOne_ChartsMove()
    {
        InteropPeers.RequireBrowser();
        using var directory = new TempDirectory();
        var config = directory.WriteFile("relay.toml", $"admin_token = \"{Token}\"\n");
        await using var relay = await RelayProcess.StartServeAsync(["--config", config]);
        var artifacts = InteropPaths.Artifacts(nameof(Dashboard_ShowsClients_KickClosesOne_ChartsMove));

        await using var alice = await TestRelayClient.ConnectAsync(relay.Uri!);
        await using var bob = await TestRelayClient.ConnectAsync(relay.Uri!);
        await using var mallory = await TestRelayClient.ConnectAsync(relay.Uri!);
        var (aliceId, bobId, malloryId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await alice.RegisterAsync(aliceId, "alice-laptop");
        await bob.RegisterAsync(bobId, "bob-workstation");
        await mallory.RegisterAsync(malloryId, "mallory-script");

        // Alice and Bob keep talking while the page watches, so that the messages chart has something to show.
        using var stop = new CancellationTokenSource();
        var talk = TalkAsync(alice, aliceId, bob, bobId, stop.Token);

        await using var browser = ExternalProcess.Start(
            "chromium admin", "node",
            [Path.Combine(InteropPaths.BrowserDirectory, "admin.mjs"), "--base", new UriBuilder(relay.Uri!) { Scheme = "http" }.Uri.ToString(),
                "--out", artifacts, "--token", Token, "--names", "alice-laptop,bob-workstation,mallory-script", "--kick", malloryId.ToString()],
            InteropPaths.BrowserDirectory);
        var result = await InteropPeers.SucceedsAsync(browser);

        var (code, reason) = await mallory.ReceiveCloseAsync();
        Assert.Equal(1008, code);
        Assert.Equal("Disconnected by the relay's operator.", reason);
        Assert.Equal("mallory-script", (string)result["kickedName"]!);
        Assert.True((double)result["chartAfter"]!["max"]! > 0, result.ToJsonString());
        Assert.True((int)result["chartAfter"]!["points"]! > (int)result["chartBefore"]!["points"]!, result.ToJsonString());
        Assert.Contains("default-src 'none'", (string)result["csp"]!, StringComparison.Ordinal);
        Assert.Empty(result["errors"]!.AsArray());

        await stop.CancelAsync();
        await talk;
        foreach (var name in new[] { "admin-dashboard.png", "admin-after-kick.png" })
        {
            var path = Path.Combine(artifacts, name);
            Assert.True(File.Exists(path) && new FileInfo(path).Length > 1000, $"no screenshot {path}");
        }
    }

    private static async Task TalkAsync(TestRelayClient a, Guid aId, TestRelayClient b, Guid bId, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        while (await timer.WaitForNextTickAsync(CancellationToken.None) && !cancellationToken.IsCancellationRequested)
        {
            await a.SendTextAsync(TestRelayClient.PeerConnection(aId, bId));
            await b.ReceiveTextAsync();
        }
    }
}
