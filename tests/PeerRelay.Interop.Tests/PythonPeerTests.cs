using PeerRelay.Testing;

namespace PeerRelay.Interop.Tests;

/// <summary>Two aiortc peers (separate processes) negotiate WebRTC through the real <c>peerrelay serve</c> process.</summary>
public sealed class PythonPeerTests
{
    private const int OneMebibyte = 1 << 20;

    [Fact]
    public async Task TwoAiortcPeers_ThroughRelay_ExchangeOneMebibyteEachWayByteForByte()
    {
        await InteropPeers.RequirePythonAsync();
        await using var relay = await RelayProcess.StartServeAsync();
        var offererId = Guid.NewGuid();
        var answererId = Guid.NewGuid();

        await using var answerer = InteropPeers.StartPython("answerer", relay.Uri!, "answer", answererId);
        await answerer.WaitForLineAsync(l => InteropPeers.IsEvent(l, "registered"), "registration");
        await using var offerer = InteropPeers.StartPython("offerer", relay.Uri!, "offer", offererId, "--peer", answererId.ToString());

        var offered = await InteropPeers.SucceedsAsync(offerer, "done");
        var answered = await InteropPeers.SucceedsAsync(answerer, "done");

        Assert.Equal(OneMebibyte, (int)offered["received_bytes"]!);
        Assert.Equal(OneMebibyte, (int)answered["received_bytes"]!);
        // Each side hashed what it sent and what it received: the two directions must match crosswise.
        Assert.Equal((string)offered["sent_sha256"]!, (string)answered["received_sha256"]!);
        Assert.Equal((string)answered["sent_sha256"]!, (string)offered["received_sha256"]!);
        Assert.NotEqual((string)offered["sent_sha256"]!, (string)answered["sent_sha256"]!);
        Assert.Contains(offerer.StdoutLines, l => InteropPeers.IsEvent(l, "answer_received"));
        Assert.Contains(answerer.StdoutLines, l => InteropPeers.IsEvent(l, "offer_received") && l.Contains(offererId.ToString(), StringComparison.Ordinal));
    }
}
