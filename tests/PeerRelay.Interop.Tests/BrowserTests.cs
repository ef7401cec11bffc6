using System.Text.Json.Nodes;
using PeerRelay.Testing;

namespace PeerRelay.Interop.Tests;

/// <summary>
/// Headless Chromium (Debian's, driven by playwright-core) loads /demo from the real <c>peerrelay serve</c> process; its pages connect over
/// WebRTC through the relay, to each other and to an aiortc peer. Screenshots land in .test-output/artifacts/interop.
/// </summary>
public sealed class BrowserTests
{
    private const string Greeting = "hello from aiortc";

    [Fact]
    public async Task TwoDemoPages_ThroughRelay_ExchangeChatMessagesOverDataChannel()
    {
        InteropPeers.RequireBrowser();
        // The page, its script and the relay all come from the real `peerrelay serve` process.
        await using var relay = await RelayProcess.StartServeAsync();
        var artifacts = InteropPaths.Artifacts(nameof(TwoDemoPages_ThroughRelay_ExchangeChatMessagesOverDataChannel));

        await using var browser = InteropPeers.StartBrowser("two-pages", relay.Uri!, artifacts);
        var result = await InteropPeers.SucceedsAsync(browser);

        Assert.True((bool)result["ok"]!, result.ToJsonString());
        var alice = result["alice"]!.AsObject();
        var bob = result["bob"]!.AsObject();
        Assert.Contains(Texts(bob["received"]), t => t.StartsWith("hello bob, from alice", StringComparison.Ordinal));
        Assert.Contains(Texts(alice["received"]), t => t.StartsWith("hello alice, from bob", StringComparison.Ordinal));
        // The steps each page shows: the offer went out through the relay, the answer came back, the channel opened.
        Assert.Contains(Texts(bob["steps"]), s => s.StartsWith("offer sent", StringComparison.Ordinal));
        Assert.Contains(Texts(bob["steps"]), s => s.StartsWith("answer received", StringComparison.Ordinal));
        Assert.Contains(Texts(alice["steps"]), s => s.StartsWith("data channel open", StringComparison.Ordinal));
        Assert.Empty(Texts(alice["errors"]));
        Assert.Empty(Texts(bob["errors"]));
        // Registered pages no longer offer to "Connect to relay".
        Assert.Equal("Reconnect to relay", (string)alice["registerButton"]!);
        Assert.Equal("Reconnect to relay", (string)bob["registerButton"]!);
        AssertScreenshot(artifacts, "two-pages-alice.png");
        AssertScreenshot(artifacts, "two-pages-bob.png");
    }

    [Fact]
    public async Task DemoPage_OffersToAiortcPeer_TrickledCandidates_MessagesBothWays()
    {
        InteropPeers.RequireBrowser();
        await InteropPeers.RequirePythonAsync();
        await using var relay = await RelayProcess.StartServeAsync();
        var artifacts = InteropPaths.Artifacts(nameof(DemoPage_OffersToAiortcPeer_TrickledCandidates_MessagesBothWays));
        var pythonId = Guid.NewGuid();

        await using var python = InteropPeers.StartPython("aiortc", relay.Uri!, "answer", pythonId, "--mode", "chat", "--send", Greeting);
        await python.WaitForLineAsync(l => InteropPeers.IsEvent(l, "registered"), "registration");
        await using var browser = InteropPeers.StartBrowser("with-python", relay.Uri!, artifacts, "--role", "offer", "--peer", pythonId.ToString());

        var page = (await InteropPeers.SucceedsAsync(browser))["chromium"]!.AsObject();
        await InteropPeers.SucceedsAsync(python, "done");

        AssertChatBothWays(page, python);
        // The page trickled its candidates; the aiortc peer added them one by one.
        Assert.Contains(python.StdoutLines, l => InteropPeers.IsEvent(l, "remote_candidate"));
        AssertScreenshot(artifacts, "with-python-chromium.png");
    }

    /// <summary>
    /// Issue 14: a fleet of three nodes. The page is served by node-3 and signals through node-1 (its WebSocket and
    /// registration), the aiortc peer registers on node-2: every signalling message crosses nodes through Redis, and
    /// WebRTC is set up across them.
    /// </summary>
    [Fact]
    public async Task Fleet_PageFromNode3_SignallingThroughNode1_AiortcPeerOnNode2_MessagesBothWays()
    {
        InteropPeers.RequireBrowser();
        await InteropPeers.RequirePythonAsync();
        await using var fleet = await RelayFleet.StartAsync(3);
        var artifacts = InteropPaths.Artifacts(nameof(Fleet_PageFromNode3_SignallingThroughNode1_AiortcPeerOnNode2_MessagesBothWays));
        Guid pythonId = Guid.NewGuid(), pageId = Guid.NewGuid();
        RelayProcess node1 = fleet.Nodes[0], node2 = fleet.Nodes[1], node3 = fleet.Nodes[2];

        await using var python = InteropPeers.StartPython("aiortc", node2.Uri!, "answer", pythonId, "--mode", "chat", "--send", Greeting);
        await python.WaitForLineAsync(l => InteropPeers.IsEvent(l, "registered"), "registration");
        Assert.Equal(fleet.NodeIdOf(node2), await fleet.Redis.CliAsync("HGET", $"{{peerrelay}}:c:{pythonId}", "n"));
        await using var browser = InteropPeers.StartBrowser(
            "with-python", node3.Uri!, artifacts, "--role", "offer", "--peer", pythonId.ToString(), "--uuid", pageId.ToString(),
            "--relay-address", node1.Uri!.ToString());

        var page = (await InteropPeers.SucceedsAsync(browser))["chromium"]!.AsObject();
        await InteropPeers.SucceedsAsync(python, "done");
        AssertChatBothWays(page, python);
        Assert.Equal(node1.Uri!.ToString(), (string)page["relayAddress"]!);
        // The page's offer reached the peer from the page's UUID, registered on node-1 (the relay stamps the source).
        Assert.Contains(python.StdoutLines, l => InteropPeers.IsEvent(l, "offer_received") && l.Contains(pageId.ToString(), StringComparison.Ordinal));
        AssertScreenshot(artifacts, "with-python-chromium.png");
    }

    [Fact]
    public async Task AiortcPeer_OffersToDemoPage_MessagesBothWays()
    {
        InteropPeers.RequireBrowser();
        await InteropPeers.RequirePythonAsync();
        await using var relay = await RelayProcess.StartServeAsync();
        var artifacts = InteropPaths.Artifacts(nameof(AiortcPeer_OffersToDemoPage_MessagesBothWays));
        var pageId = Guid.NewGuid();

        await using var browser = InteropPeers.StartBrowser("with-python", relay.Uri!, artifacts, "--role", "answer", "--uuid", pageId.ToString());
        // The Python peer offers again until the page has registered (the relay answers "Cannot forward" before).
        await using var python = InteropPeers.StartPython(
            "aiortc", relay.Uri!, "offer", Guid.NewGuid(), "--peer", pageId.ToString(), "--mode", "chat", "--send", Greeting);

        var page = (await InteropPeers.SucceedsAsync(browser))["chromium"]!.AsObject();
        await InteropPeers.SucceedsAsync(python, "done");

        AssertChatBothWays(page, python);
        Assert.Contains(python.StdoutLines, l => InteropPeers.IsEvent(l, "answer_received"));
        Assert.Contains(Texts(page["steps"]), s => s.StartsWith("answer sent", StringComparison.Ordinal));
        AssertScreenshot(artifacts, "with-python-chromium.png");
    }

    private static void AssertChatBothWays(JsonObject page, ExternalProcess python)
    {
        var sent = (string)page["sent"]!;
        var received = Texts(page["received"]);
        Assert.Contains(Greeting, received);
        Assert.Contains($"echo: {sent}", received);
        Assert.Contains(python.StdoutLines, l => InteropPeers.IsEvent(l, "received") && l.Contains(sent, StringComparison.Ordinal));
        Assert.Empty(Texts(page["errors"]));
    }

    private static void AssertScreenshot(string artifacts, string name)
    {
        var path = Path.Combine(artifacts, name);
        Assert.True(File.Exists(path), $"no screenshot {path}");
        Assert.True(new FileInfo(path).Length > 1000, $"screenshot {path} is nearly empty");
    }

    private static List<string> Texts(JsonNode? array) =>
        array is JsonArray items ? [.. items.Select(i => (string)i!)] : [];
}
