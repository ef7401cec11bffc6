using System.Text;

namespace PeerRelay.Benchmarks;

/// <summary>Sample messages, as the ProxyStore client writes them, with a description padded to a total size.</summary>
public static class Messages
{
    public static readonly Guid Source = Guid.Parse("5c1e8b0e-0d2a-4a53-9d5f-0f1b6f4c2a11");
    public static readonly Guid Peer = Guid.Parse("0b7f1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d");

    public static byte[] Registration(Guid uuid) =>
        Encoding.UTF8.GetBytes($"{{\"name\": \"laptop\", \"uuid\": \"{uuid}\", \"message_type\": \"relay_registration\"}}");

    public static readonly byte[] Response =
        Encoding.UTF8.GetBytes("{\"success\": true, \"message\": null, \"error\": false, \"message_type\": \"relay_response\"}");

    /// <summary>
    /// A <c>peer_connection</c> of <paramref name="size"/> bytes (at least about 240: the keys, two UUIDs and the spacing of Python's json.dumps are fixed) whose description is
    /// SDP text with escaped line breaks, as the ProxyStore client sends it.
    /// </summary>
    public static byte[] PeerConnection(int size, Guid source, Guid peer)
    {
        var head = $"{{\"source_uuid\": \"{source}\", \"source_name\": \"laptop\", \"peer_uuid\": \"{peer}\", \"description_type\": \"offer\", \"description\": \"v=0\\r\\n";
        const string Tail = "\\r\\n\", \"error\": null, \"message_type\": \"peer_connection\"}";
        var padding = Math.Max(0, size - head.Length - Tail.Length);
        return Encoding.UTF8.GetBytes(head + new string('a', padding) + Tail);
    }
}
