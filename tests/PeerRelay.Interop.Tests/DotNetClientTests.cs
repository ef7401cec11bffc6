using System.Text.Json;
using PeerRelay.Client;
using PeerRelay.Protocol;
using PeerRelay.Testing;

namespace PeerRelay.Interop.Tests;

/// <summary>
/// The .NET <see cref="RelayClient"/> exchanges offer/answer signalling with an aiortc peer through the real relay.
/// .NET has no WebRTC stack here, so its side of the SDP is written by hand; aiortc's side is real and aiortc must
/// accept ours (<c>peer.py --mode signal</c> ends once setRemoteDescription succeeded).
/// </summary>
public sealed class DotNetClientTests
{
    [Fact]
    public async Task DotNetClient_OffersToAiortcPeer_GetsRealAnswer()
    {
        await InteropPeers.RequirePythonAsync();
        await using var relay = await RelayProcess.StartServeAsync();
        var pythonId = Guid.NewGuid();
        await using var python = InteropPeers.StartPython("aiortc", relay.Uri!, "answer", pythonId, "--mode", "signal");
        await python.WaitForLineAsync(l => InteropPeers.IsEvent(l, "registered"), "registration");
        await using var client = new RelayClient(new RelayClientOptions { Address = relay.Uri, Name = "dotnet" });
        await client.ConnectAsync().WithTimeout();

        await client.SendAsync(pythonId, "offer", Description(HandWrittenSdp("actpass"), "offer")).WithTimeout();
        var answer = await NextAsync(client);

        Assert.Null(answer.Error);
        Assert.Equal("answer", answer.DescriptionType);
        Assert.Equal(pythonId, answer.SourceUuid);
        Assert.Equal(client.Uuid, answer.PeerUuid);
        var (sdp, type) = Parse(answer.Description);
        Assert.Equal("answer", type);
        Assert.Contains("m=application", sdp, StringComparison.Ordinal);
        Assert.Contains("webrtc-datachannel", sdp, StringComparison.Ordinal);
        Assert.Contains("a=fingerprint:sha-256 ", sdp, StringComparison.Ordinal);
        Assert.Contains("a=candidate:", sdp, StringComparison.Ordinal); // aiortc gathers before answering: no trickle
        var done = await InteropPeers.SucceedsAsync(python, "done");
        Assert.Equal("offer", (string)done["remote_description"]!);
    }

    [Fact]
    public async Task AiortcPeer_OffersToDotNetClient_AcceptsHandWrittenAnswer()
    {
        await InteropPeers.RequirePythonAsync();
        await using var relay = await RelayProcess.StartServeAsync();
        await using var client = new RelayClient(new RelayClientOptions { Address = relay.Uri, Name = "dotnet" });
        await client.ConnectAsync().WithTimeout();
        var pythonId = Guid.NewGuid();
        await using var python = InteropPeers.StartPython(
            "aiortc", relay.Uri!, "offer", pythonId, "--peer", client.Uuid.ToString(), "--mode", "signal");

        var offer = await NextAsync(client);
        Assert.Equal("offer", offer.DescriptionType);
        Assert.Equal(pythonId, offer.SourceUuid);
        Assert.Equal("aiortc", offer.SourceName);
        var (sdp, type) = Parse(offer.Description);
        Assert.Equal("offer", type);
        Assert.Contains("webrtc-datachannel", sdp, StringComparison.Ordinal);
        Assert.Contains("a=setup:actpass", sdp, StringComparison.Ordinal);

        await client.SendAsync(pythonId, "answer", Description(HandWrittenSdp("active"), "answer")).WithTimeout();
        var done = await InteropPeers.SucceedsAsync(python, "done");
        Assert.Equal("answer", (string)done["remote_description"]!);
        Assert.Contains(python.StdoutLines, l => InteropPeers.IsEvent(l, "answer_received"));
    }

    private static async Task<PeerConnection> NextAsync(RelayClient client) =>
        await client.Messages.ReadAsync().AsTask().WithTimeout(InteropPeers.PeerTimeout);

    // What aiortc's object_to_string (ProxyStore) writes: {"sdp": ..., "type": ...}.
    private static string Description(string sdp, string type) =>
        JsonSerializer.Serialize(new Dictionary<string, string> { ["sdp"] = sdp, ["type"] = type });

    private static (string Sdp, string Type) Parse(string description)
    {
        using var json = JsonDocument.Parse(description);
        return (json.RootElement.GetProperty("sdp").GetString()!, json.RootElement.GetProperty("type").GetString()!);
    }

    // A data-channel description with ICE credentials and a DTLS fingerprint but no candidates, so aiortc accepts it
    // and never sends a packet anywhere.
    private static string HandWrittenSdp(string setup) => string.Join("\r\n",
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "c=IN IP4 0.0.0.0",
        "a=ice-ufrag:PRly",
        "a=ice-pwd:peerrelaydotnetclientinterop",
        "a=fingerprint:sha-256 " + string.Join(':', Enumerable.Repeat("AB", 32)),
        $"a=setup:{setup}",
        "a=mid:0",
        "a=sctp-port:5000",
        "a=max-message-size:262144",
        string.Empty);
}
