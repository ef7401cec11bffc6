namespace PeerRelay.LoadTest;

/// <summary>The PeerRelay / ProxyStore relay protocol (docs: shared PROTOCOL.md).</summary>
internal sealed class RelayProtocol : TargetProtocol
{
    public override string PathAndQuery(string basePath, string id) => basePath;

    public override byte[]? Registration(string id) =>
        System.Text.Encoding.UTF8.GetBytes($"{{\"name\": \"load\", \"uuid\": \"{id}\", \"message_type\": \"relay_registration\"}}");

    public override bool IsRegistered(ReadOnlySpan<byte> message) =>
        message.IndexOf("\"success\": true"u8) >= 0 || message.IndexOf("\"success\":true"u8) >= 0;

    public override bool IsForwarded(ReadOnlySpan<byte> message) =>
        message.IndexOf("\"error\": null"u8) >= 0 || message.IndexOf("\"error\":null"u8) >= 0;

    protected override (string Head, string Tail) Parts(string from, string to, bool offer) =>
        ($"{{\"source_uuid\": \"{from}\", \"source_name\": \"load\", \"peer_uuid\": \"{to}\", \"description_type\": \"{(offer ? "offer" : "answer")}\", \"description\": \"",
         "\", \"error\": null, \"message_type\": \"peer_connection\"}");
}
