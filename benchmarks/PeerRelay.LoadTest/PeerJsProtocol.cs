namespace PeerRelay.LoadTest;

/// <summary>
/// The PeerJS server protocol (npm <c>peer</c>): connecting to <c>/peerjs?key=peerjs&amp;id=ID&amp;token=T</c> registers
/// the id and the server answers <c>{"type":"OPEN"}</c>; <c>OFFER</c>/<c>ANSWER</c> go to <c>dst</c> and arrive with <c>src</c>.
/// </summary>
internal sealed class PeerJsProtocol : TargetProtocol
{
    public override string PathAndQuery(string basePath, string id) =>
        $"{basePath.TrimEnd('/')}/peerjs?key=peerjs&id={id}&token=t{id[..8]}";

    public override byte[]? Registration(string id) => null;

    public override bool IsRegistered(ReadOnlySpan<byte> message) => message.IndexOf("\"OPEN\""u8) >= 0;

    public override bool IsForwarded(ReadOnlySpan<byte> message) =>
        message.StartsWith("{\"type\":\"OFFER\""u8) || message.StartsWith("{\"type\":\"ANSWER\""u8);

    protected override (string Head, string Tail) Parts(string from, string to, bool offer) =>
        ($"{{\"type\":\"{(offer ? "OFFER" : "ANSWER")}\",\"payload\":{{\"sdp\":{{\"type\":\"{(offer ? "offer" : "answer")}\",\"sdp\":\"",
         $"\"}},\"type\":\"media\",\"connectionId\":\"c{from[..8]}\"}},\"dst\":\"{to}\"}}");
}
